// Values of ops against hand-worked examples; dtypes, shapes, data in and out, seeding.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as T from '../../src/torch/index.js';
import { F, tensor } from '../../src/torch/index.js';
import { assertClose, values } from '../helpers/gradcheck.js';

describe('tensor creation and data', () => {
  it('round-trips typed arrays of each dtype', () => {
    assert.deepEqual(values(tensor(new Float32Array([1.5, -2])).data()), [1.5, -2]);
    assert.deepEqual(values(tensor(new Float64Array([1e-300])).data()), [1e-300]);
    assert.deepEqual(values(tensor(new BigInt64Array([2n ** 40n, -3n])).data()), [2n ** 40n, -3n]);
    assert.deepEqual(values(tensor(new Int32Array([7])).data()), [7]);
    assert.deepEqual(values(tensor(new Uint8Array([255, 0])).data()), [255, 0]);
    assert.equal(tensor([1, 0, 1], [3], { dtype: 'bool' }).dtype, 'bool');
  });

  it('reports shape, dtype, device and numel', () => {
    const t = T.zeros([2, 3, 4], { dtype: 'float64' });
    assert.deepEqual(t.shape, [2, 3, 4]);
    assert.equal(t.dtype, 'float64');
    assert.equal(t.device, 'cpu');
    assert.equal(t.numel, 24);
    assert.equal(t.size(-1), 4);
  });

  it('builds constants and ranges', () => {
    assert.deepEqual(T.arange(2, 7, 2).toNumbers(), [2, 4, 6]);
    assert.equal(T.arange(3).dtype, 'int64');
    assert.deepEqual(T.full([2], 3.5).toNumbers(), [3.5, 3.5]);
    assert.deepEqual(T.eye(2).toNumbers(), [1, 0, 0, 1]);
    assert.deepEqual(T.ones([2, 1]).shape, [2, 1]);
    assert.equal(T.scalar(4).item(), 4);
  });

  it('seeded random generators repeat and respect their ranges', () => {
    T.manualSeed(123);
    const a = [T.rand([5]).toNumbers(), T.randn([5]).toNumbers(), T.randperm(6).toNumbers(), T.randint(3, 9, [20]).toNumbers()];
    T.manualSeed(123);
    const b = [T.rand([5]).toNumbers(), T.randn([5]).toNumbers(), T.randperm(6).toNumbers(), T.randint(3, 9, [20]).toNumbers()];
    assert.deepEqual(a, b);
    assert.deepEqual([...a[2]!].sort(), [0, 1, 2, 3, 4, 5]);
    assert.ok(a[3]!.every((v) => v >= 3 && v < 9 && Number.isInteger(v)));
    assert.ok(a[0]!.every((v) => v >= 0 && v < 1));
    const u = T.uniform([1000], -2, -1).toNumbers();
    assert.ok(u.every((v) => v >= -2 && v < -1));
  });
});

describe('op values', () => {
  const a = () => tensor([1, 2, 3, 4, 5, 6], [2, 3]);

  it('elementwise arithmetic with tensors and scalars broadcasts', () => {
    assert.deepEqual(a().add(tensor([10, 20, 30])).toNumbers(), [11, 22, 33, 14, 25, 36]);
    assert.deepEqual(a().sub(1).mul(2).div(4).toNumbers(), [0, 0.5, 1, 1.5, 2, 2.5]);
    assert.deepEqual(a().rsub(10).toNumbers(), [9, 8, 7, 6, 5, 4]);
    assert.deepEqual(a().pow(2).toNumbers(), [1, 4, 9, 16, 25, 36]);
    assert.deepEqual(a().clamp(2, 4).toNumbers(), [2, 2, 3, 4, 4, 4]);
    assert.deepEqual(a().neg().abs().sign().toNumbers(), [1, 1, 1, 1, 1, 1]);
    assert.deepEqual(tensor([-1, 4]).maximum(tensor([0, 3])).toNumbers(), [0, 4]);
    assert.deepEqual(tensor([-1, 4]).minimum(tensor([0, 3])).toNumbers(), [-1, 3]);
  });

  it('reductions along dims', () => {
    assert.equal(a().sum().item(), 21);
    assert.deepEqual(a().sum(0).toNumbers(), [5, 7, 9]);
    assert.deepEqual(a().mean(1, true).shape, [2, 1]);
    assert.deepEqual(a().maxDim(1).values.toNumbers(), [3, 6]);
    assert.deepEqual(a().minDim(0).indices.toNumbers(), [0, 0, 0]);
    assert.deepEqual(a().argmax(1).toNumbers(), [2, 2]);
    assertClose(tensor([0, 0]).logsumexp(0).toNumbers(), [Math.log(2)]);
    assertClose(tensor([3, 4]).norm().toNumbers(), [5]);
    assertClose(tensor([1, 1, 1, 1], [2, 2]).norm(1, 1).toNumbers(), [2, 2]);
    assertClose(tensor([1, 2, 3, 4]).variance(0).toNumbers(), [5 / 3], 1e-6);
  });

  it('comparisons and masks', () => {
    assert.deepEqual(a().gt(3).toNumbers(), [0, 0, 0, 1, 1, 1]);
    assert.deepEqual(a().maskedFill(a().le(2), 0).toNumbers(), [0, 0, 3, 4, 5, 6]);
    assert.deepEqual(a().maskedSelect(a().eq(5)).toNumbers(), [5]);
    assert.deepEqual(T.where(a().lt(3), a(), a().neg()).toNumbers(), [1, 2, -3, -4, -5, -6]);
    assert.deepEqual(a().gt(1).logicalAnd(a().lt(4)).toNumbers(), [0, 1, 1, 0, 0, 0]);
  });

  it('linear algebra', () => {
    assert.deepEqual(a().mm(a().t()).toNumbers(), [14, 32, 32, 77]);
    assert.deepEqual(F.linear(a(), tensor([1, 0, 1], [1, 3]), tensor([0.5])).toNumbers(), [4.5, 10.5]);
    assertClose(F.pairwiseDistances(tensor([0, 0, 3, 4], [2, 2]), tensor([0, 0], [1, 2])).toNumbers(), [0, 5]);
    assertClose(F.l2Normalize(tensor([3, 4], [1, 2])).toNumbers(), [0.6, 0.8]);
  });

  it('indexing and shapes', () => {
    assert.deepEqual(a().indexSelect(1, tensor([2, 0], [2], { dtype: 'int64' })).toNumbers(), [3, 1, 6, 4]);
    assert.deepEqual(a().gather(1, tensor([1, 0], [2, 1], { dtype: 'int64' })).toNumbers(), [2, 4]);
    assert.deepEqual(a().narrow(1, 1, 2).toNumbers(), [2, 3, 5, 6]);
    assert.deepEqual(a().slice(1, -1).toNumbers(), [3, 6]);
    assert.deepEqual(a().select(0, 1).toNumbers(), [4, 5, 6]);
    assert.deepEqual(a().permute([1, 0]).contiguous().toNumbers(), [1, 4, 2, 5, 3, 6]);
    assert.deepEqual(T.cat([a(), a()], 1).shape, [2, 6]);
    assert.deepEqual(T.stack([a(), a()]).shape, [2, 2, 3]);
    assert.deepEqual(
      a().split([1, 2], 1).map((t) => t.shape),
      [
        [2, 1],
        [2, 2],
      ],
    );
    assert.deepEqual(a().topk(2, 1).indices.toNumbers(), [2, 1, 2, 1]);
    assert.deepEqual(tensor([3, 1, 2]).argsort().toNumbers(), [1, 2, 0]);
    assert.deepEqual(T.zeros([3]).scatter(0, tensor([2], [1], { dtype: 'int64' }), 7).toNumbers(), [0, 0, 7]);
  });

  it('in-place updates return the same tensor and change it', () => {
    const t = tensor([1, 2]);
    assert.equal(t.add_(1), t);
    t.mul_(tensor([2, 3])).addcmul_(tensor([1, 1]), tensor([2, 2]), 0.5).addcdiv_(tensor([4, 4]), tensor([2, 4]));
    assert.deepEqual(t.toNumbers(), [4 + 1 + 2, 9 + 1 + 1]);
    t.zero_();
    assert.deepEqual(t.toNumbers(), [0, 0]);
    t.copy_(tensor([5, 6]));
    assert.deepEqual(t.toNumbers(), [5, 6]);
  });

  it('conv2d and pooling on a hand-worked case', () => {
    // A 3x3 input of 1..9, a 2x2 kernel of ones: each output is the sum of a 2x2 window.
    const x = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
    const w = T.ones([1, 1, 2, 2]);
    assert.deepEqual(F.conv2d(x, w).toNumbers(), [12, 16, 24, 28]);
    assert.deepEqual(F.maxPool2d(x, 2, { stride: 1 }).toNumbers(), [5, 6, 8, 9]);
    assert.deepEqual(F.adaptiveAvgPool2d(x, 1).toNumbers(), [5]);
  });

  it('batchNorm updates running statistics in training and uses them in eval', () => {
    const x = tensor([1, 3, 5, 7], [4, 1, 1, 1]);
    const mean = T.zeros([1]);
    const variance = T.ones([1]);
    const y = F.batchNorm(x, mean, variance, null, null, { training: true, momentum: 0.5, eps: 0 });
    // Batch mean 4, biased variance 5 for normalising, unbiased 20/3 for the running estimate.
    assertClose(y.toNumbers(), [-3, -1, 1, 3].map((v) => v / Math.sqrt(5)), 1e-6);
    assertClose(mean.toNumbers(), [2]);
    assertClose(variance.toNumbers(), [0.5 + 0.5 * (20 / 3)], 1e-5);
    const e = F.batchNorm(tensor([2], [1, 1, 1, 1]), mean, variance, null, null, { training: false, eps: 0 });
    assertClose(e.toNumbers(), [0]);
  });

  it('converts between dtypes and memory formats', () => {
    const t = tensor([1.7, -1.7]);
    assert.deepEqual(t.to('int64').toNumbers(), [1, -1]);
    assert.equal(t.to('float64').dtype, 'float64');
    const x = T.randn([2, 3, 4, 4]);
    assert.deepEqual(x.contiguous('channels_last').toNumbers(), x.toNumbers());
    assert.equal(t.to('bfloat16').to('float32').dtype, 'float32');
  });
});
