// Every differentiable op the tensor layer binds: autograd against central finite differences.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as T from '../../src/torch/index.js';
import { F, cat, stack, where, type Tensor } from '../../src/torch/index.js';
import { f64, gradcheck, numbers } from '../helpers/gradcheck.js';

const x23 = () => f64(numbers(6, 1), [2, 3]);
const pos23 = () => f64(numbers(6, 2, 0.5, 2), [2, 3]);
const y23 = () => f64(numbers(6, 3), [2, 3]);

const unary: [string, (t: Tensor) => Tensor, () => Tensor][] = [
  ['neg', (t) => t.neg(), x23],
  ['exp', (t) => t.exp(), x23],
  ['log', (t) => t.log(), pos23],
  ['log1p', (t) => t.log1p(), pos23],
  ['sqrt', (t) => t.sqrt(), pos23],
  ['rsqrt', (t) => t.rsqrt(), pos23],
  ['abs', (t) => t.abs(), x23],
  ['square', (t) => t.square(), x23],
  ['reciprocal', (t) => t.reciprocal(), pos23],
  ['sigmoid', (t) => t.sigmoid(), x23],
  ['tanh', (t) => t.tanh(), x23],
  ['relu', (t) => t.relu(), x23],
  ['softplus', (t) => t.softplus(2), x23],
  ['cos', (t) => t.cos(), x23],
  ['sin', (t) => t.sin(), x23],
  ['acos', (t) => t.mul(0.9).acos(), x23],
  ['pow scalar', (t) => t.pow(3), x23],
  ['clamp', (t) => t.clamp(-0.3, 0.4), x23],
  ['clampMin', (t) => t.clampMin(0.1), x23],
  ['clampMax', (t) => t.clampMax(0.1), x23],
  ['add scalar', (t) => t.add(2.5), x23],
  ['sub scalar', (t) => t.sub(2.5), x23],
  ['rsub', (t) => t.rsub(1.5), x23],
  ['mul scalar', (t) => t.mul(-1.5), x23],
  ['div scalar', (t) => t.div(4), x23],
  ['sum', (t) => t.sum(), x23],
  ['sum dim', (t) => t.sum(1).square(), x23],
  ['mean dim keepdim', (t) => t.mean(0, true).exp(), x23],
  ['max', (t) => t.max(), x23],
  ['min', (t) => t.min(), x23],
  ['maxDim values', (t) => t.maxDim(1).values, x23],
  ['minDim values', (t) => t.minDim(0).values, x23],
  ['logsumexp', (t) => t.logsumexp(1), x23],
  ['norm all', (t) => t.norm(), x23],
  ['norm dim', (t) => t.norm(2, 1), x23],
  ['variance', (t) => t.variance(1), x23],
  ['t', (t) => t.t().mul(f64([1, 2, 3, 4, 5, 6], [3, 2])), x23],
  ['reshape', (t) => t.reshape([3, 2]).mul(f64([1, 2, 3, 4, 5, 6], [3, 2])), x23],
  ['view', (t) => t.view([6]).mul(f64([1, 2, 3, 4, 5, 6], [6])), x23],
  ['flatten', (t) => t.flatten().square(), x23],
  ['transpose', (t) => t.transpose(0, 1).matmul(f64([1, 2], [2, 1])), x23],
  ['permute', (t) => t.unsqueeze(0).permute([2, 0, 1]).square(), x23],
  ['squeeze', (t) => t.unsqueeze(1).squeeze(1).square(), x23],
  ['expand', (t) => t.unsqueeze(0).expand([3, 2, 3]).mul(f64(numbers(18, 9), [3, 2, 3])), x23],
  ['repeat', (t) => t.repeat([2, 1]).square(), x23],
  ['narrow', (t) => t.narrow(1, 1, 2).square(), x23],
  ['slice', (t) => t.slice(1, 0, 3, 2).square(), x23],
  ['select', (t) => t.select(0, 1).square(), x23],
  ['indexSelect', (t) => t.indexSelect(1, f64([2, 0, 2], [3]).long()).square(), x23],
  ['gather', (t) => t.gather(1, f64([0, 2, 1, 1], [2, 2]).long()).square(), x23],
  ['index', (t) => t.index([f64([1, 0, 1], [3]).long()]).square(), x23],
  ['maskedFill', (t) => t.maskedFill(t.gt(0), 0.5).square(), x23],
  ['maskedSelect', (t) => t.maskedSelect(t.gt(0)).square(), x23],
  ['chunk', (t) => t.chunk(3, 1)[1]!.square(), x23],
  ['split', (t) => t.split([1, 2], 1)[1]!.square(), x23],
  ['topk values', (t) => t.topk(2, 1).values.square(), x23],
  ['sort values', (t) => t.sort(1, true).values.mul(f64([1, 2, 3, 4, 5, 6], [2, 3])), x23],
  ['l2Normalize', (t) => F.l2Normalize(t, 1).mul(f64([1, 2, 3, 4, 5, 6], [2, 3])), x23],
  ['logSoftmax', (t) => F.logSoftmax(t, 1).mul(f64([1, 2, 3, 4, 5, 6], [2, 3])), x23],
  ['softmax', (t) => F.softmax(t, 1).mul(f64([1, 2, 3, 4, 5, 6], [2, 3])), x23],
  ['crossEntropy', (t) => F.crossEntropy(t, f64([2, 0], [2]).long()), x23],
  ['dropout eval', (t) => F.dropout(t, 0.5, false).square(), x23],
];

const binary: [string, (a: Tensor, b: Tensor) => Tensor, () => Tensor, () => Tensor][] = [
  ['add', (a, b) => a.add(b, 2), x23, y23],
  ['sub', (a, b) => a.sub(b), x23, y23],
  ['mul', (a, b) => a.mul(b), x23, y23],
  ['div', (a, b) => a.div(b), x23, pos23],
  ['pow tensor', (a, b) => a.pow(b), pos23, y23],
  ['minimum', (a, b) => a.minimum(b), x23, y23],
  ['maximum', (a, b) => a.maximum(b), x23, y23],
  ['clampTensor', (a, b) => a.clampTensor(b.sub(0.5), b.add(0.5)), x23, y23],
  ['matmul', (a, b) => a.matmul(b.t()), x23, y23],
  ['mm', (a, b) => a.mm(b.t()), x23, y23],
  ['bmm', (a, b) => a.unsqueeze(0).bmm(b.t().unsqueeze(0)), x23, y23],
  ['cat', (a, b) => cat([a, b], 1).square(), x23, y23],
  ['stack', (a, b) => stack([a, b], 0).square(), x23, y23],
  ['where', (a, b) => where(a.gt(b), a, b).square(), x23, y23],
  ['linear', (a, b) => F.linear(a, b, null), x23, y23],
  ['pairwiseDistances', (a, b) => F.pairwiseDistances(a, b, 1e-9), x23, y23],
  ['squaredDistances', (a, b) => F.squaredDistances(a, b), x23, y23],
  ['cosineSimilarityMatrix', (a, b) => F.cosineSimilarityMatrix(a, b), x23, y23],
];

describe('gradients agree with finite differences', () => {
  for (const [name, fn, make] of unary) {
    it(name, () => gradcheck(([t]) => fn(t!), [make()]));
  }
  for (const [name, fn, makeA, makeB] of binary) {
    it(name, () => gradcheck(([a, b]) => fn(a!, b!), [makeA(), makeB()]));
  }

  it('conv2d (weight, input, bias; stride, padding, groups)', () => {
    const input = f64(numbers(2 * 4 * 5 * 5, 11), [2, 4, 5, 5]);
    const weight = f64(numbers(6 * 2 * 3 * 3, 12), [6, 2, 3, 3]);
    const bias = f64(numbers(6, 13), [6]);
    gradcheck(([x, w, b]) => F.conv2d(x!, w!, b!, { stride: 2, padding: 1, groups: 2 }).square(), [input, weight, bias]);
  });

  it('batchNorm in training mode (batch statistics)', () => {
    const input = f64(numbers(4 * 3 * 2 * 2, 21), [4, 3, 2, 2]);
    const weight = f64(numbers(3, 22, 0.5, 1.5), [3]);
    const bias = f64(numbers(3, 23), [3]);
    const mix = f64(numbers(48, 24), [4, 3, 2, 2]);
    gradcheck(([x, w, b]) => F.batchNorm(x!, null, null, w!, b!, { training: true }).mul(mix), [input, weight, bias]);
  });

  it('batchNorm in eval mode (running statistics)', () => {
    const input = f64(numbers(2 * 3 * 2 * 2, 31), [2, 3, 2, 2]);
    const weight = f64(numbers(3, 32, 0.5, 1.5), [3]);
    const bias = f64(numbers(3, 33), [3]);
    const mean = f64([0.1, -0.2, 0.3], [3]);
    const variance = f64([0.5, 1.5, 2.0], [3]);
    gradcheck(([x, w, b]) => F.batchNorm(x!, mean, variance, w!, b!, { training: false }).square(), [input, weight, bias]);
  });

  it('max and average pooling', () => {
    const input = f64(numbers(1 * 2 * 4 * 4, 41), [1, 2, 4, 4]);
    gradcheck(([x]) => F.maxPool2d(x!, 2).square(), [input]);
    gradcheck(([x]) => F.maxPool2d(x!, 3, { stride: 2, padding: 1 }).square(), [input]);
    gradcheck(([x]) => F.avgPool2d(x!, 2).square(), [input]);
    gradcheck(([x]) => F.adaptiveAvgPool2d(x!, 1).square(), [input]);
  });
});

describe('relu_ (in place, as ResNet blocks use it)', () => {
  it('clamps in place and passes the gradient where the input was positive', () => {
    const x = T.tensor([-2, -0.5, 0.5, 3], [4]).setRequiresGrad();
    const h = x.mul(2);
    const y = h.relu_();
    assert.equal(y, h, 'returns the same tensor');
    assert.deepEqual(y.toNumbers(), [0, 0, 1, 6]);
    y.sum().backward();
    assert.deepEqual(x.grad!.toNumbers(), [0, 0, 2, 2]);
  });

  it('overwriting a value that backward needs is an Error, not a wrong gradient', () => {
    const x = T.tensor([-1, 1], [2]).setRequiresGrad();
    const s = x.sigmoid(); // sigmoid's backward reads its output
    s.relu_();
    assert.throws(() => s.sum().backward(), /inplace|in-place|modified/i);
  });
});

describe('maxPool2d on contiguous CPU input (the channels-last kernel and a gather)', () => {
  it('equals libtorch max-pool exactly, values and gradients, ties included', () => {
    for (const [shape, relu] of [
      [[6, 16, 17, 17], true],
      [[3, 8, 12, 12], false],
    ] as const) {
      T.manualSeed(3);
      let base = T.randn([shape[0], 2 * shape[1], shape[2], shape[3]]).round(); // rounding makes ties everywhere
      if (relu) base = base.relu();
      const fast = base.narrow(1, 0, shape[1]).contiguous().setRequiresGrad();
      const plain = base.detach().setRequiresGrad(); // a non-contiguous slice of it takes libtorch's own op
      const y = F.maxPool2d(fast, 3, { stride: 2, padding: 1 });
      const r = F.maxPool2d(plain.narrow(1, 0, shape[1]), 3, { stride: 2, padding: 1 });
      assert.deepEqual(y.shape, r.shape);
      assert.equal(y.sub(r).abs().max().item(), 0);
      const g = T.randn(y.shape);
      y.mul(g).sum().backward();
      r.mul(g).sum().backward();
      assert.equal(fast.grad!.sub(plain.grad!.narrow(1, 0, shape[1])).abs().max().item(), 0);
      assert.ok(fast.grad!.abs().sum().item() > 0);
    }
  });

  it('without gradients returns the pooled values in the input layout', () => {
    const x = T.randn([2, 4, 9, 9]);
    const y = T.noGrad(() => F.maxPool2d(x, 3, { stride: 2, padding: 1 }));
    assert.ok(y.isContiguous());
    assert.equal(y.sub(F.maxPool2d(x.transpose(2, 3), 3, { stride: 2, padding: 1 }).transpose(2, 3)).abs().max().item(), 0);
  });
});
