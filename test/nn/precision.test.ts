// Memory format and precision: channels-last convolutions give the same forward and gradients as
// contiguous ones (up to float rounding) and really run channels-last; bf16 layers compute in
// bfloat16 and return it (their results differ from float32 ones by bfloat16 rounding, no more)
// while weights, gradients and the model's outputs stay float32; fp16 is refused on a CPU with an
// error naming the setting. test/nn/mixed-precision.test.ts checks the rest of the semantics.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createModel, Conv2d, Linear, precisionProblem, setComputeMode, type EmbeddingModel } from '../../src/nn/index.js';
import { benchTrainingSteps } from '../../src/benchmark/index.js';
import { resolveTrainConfig } from '../../src/train/index.js';
import * as T from '../../src/torch/index.js';
import { callNative, op } from '../../src/torch/dispatch.js';
import { tidy, type Tensor } from '../../src/torch/index.js';

/** Whether an NCHW-shaped t is laid out channels-last: neighbouring channels of a pixel are adjacent in memory. */
function isChannelsLast(t: Tensor): boolean {
  return callNative(op('stride', 'int'), [t, 1]) === 1 && t.shape[1]! > 1;
}

function largestGap(a: Tensor, b: Tensor): number {
  return tidy(() => a.sub(b).abs().max().item());
}

/** Two copies of one small ResNet; `second` is set up by `mode`. */
function twins(mode: Parameters<typeof setComputeMode>[1]): [EmbeddingModel, EmbeddingModel] {
  T.manualSeed(3);
  const a = createModel({ arch: 'resnet-small', embedDim: 16, inChannels: 3 });
  const b = createModel({ arch: 'resnet-small', embedDim: 16, inChannels: 3 });
  b.loadStateDict(a.stateDict());
  setComputeMode(b, mode);
  return [a, b];
}

/** Embeddings of a train-mode forward and every parameter's gradient of a fixed loss. */
function forwardBackward(model: EmbeddingModel, x: Tensor): { embedding: Tensor; grads: Tensor[] } {
  model.train();
  for (const p of model.parameters()) p.grad = null;
  T.manualSeed(9); // the same loss weights for both twins
  const embedding = model.forward(x);
  embedding.mul(T.randn([...embedding.shape])).sum().backward();
  return { embedding: embedding.detach(), grads: model.parameters().map((p) => p.grad!) };
}

describe('memory format', () => {
  it('channels-last convolutions run channels-last and match contiguous ones in value and gradient', () => {
    tidy(() => {
      const conv = new Conv2d(3, 5, 3, { padding: 1 });
      conv.memoryFormat = 'channels_last';
      const x = T.randn([2, 3, 6, 6]);
      assert.ok(!isChannelsLast(x));
      assert.ok(isChannelsLast(conv.forward(x)), 'the convolution did not run channels-last');
      conv.dispose();

      const [plain, last] = twins({ memoryFormat: 'channels-last' });
      const images = T.randn([4, 3, 16, 16]);
      const want = forwardBackward(plain, images);
      const got = forwardBackward(last, images);
      assert.ok(largestGap(got.embedding, want.embedding) < 1e-5, `embeddings differ by ${largestGap(got.embedding, want.embedding)}`);
      got.grads.forEach((g, i) => {
        const scale = Math.max(1, want.grads[i]!.abs().max().item());
        assert.ok(largestGap(g, want.grads[i]!) / scale < 1e-4, `gradient ${i} differs by ${largestGap(g, want.grads[i]!)}`);
      });
      plain.dispose();
      last.dispose();
    });
  });
});

describe('precision', () => {
  it('a bf16 convolution and linear layer equal float32 ones on bfloat16-rounded inputs, up to bfloat16 rounding of the result, and return bfloat16', () => {
    tidy(() => {
      const round = (t: Tensor) => t.to('bfloat16').to('float32');
      const conv = new Conv2d(4, 6, 3, { padding: 1 });
      const x = T.randn([2, 4, 5, 5]);
      const exact = conv.forward(x);
      const reference = T.F.conv2d(round(x), round(conv.weight), round(conv.bias!), { padding: 1 });
      conv.computeDtype = 'bfloat16';
      const y = conv.forward(x);
      assert.equal(y.dtype, 'bfloat16');
      const scale = reference.abs().max().item();
      // bfloat16 keeps 8 significant bits: the result is the reference rounded (and accumulated) at that precision.
      assert.ok(largestGap(y, reference) <= scale * 2 ** -7, `bf16 conv differs from the rounded reference by ${largestGap(y, reference)}`);
      assert.ok(largestGap(y, exact) > 0, 'the bf16 convolution gave exactly the float32 result: it did not run in bfloat16');
      y.sum().backward();
      assert.equal(conv.weight.grad!.dtype, 'float32');
      assert.equal(conv.weight.dtype, 'float32');

      const linear = new Linear(8, 3);
      const v = T.randn([5, 8]);
      const linearReference = T.F.linear(round(v), round(linear.weight), round(linear.bias!));
      linear.computeDtype = 'bfloat16';
      const out = linear.forward(v);
      assert.equal(out.dtype, 'bfloat16');
      assert.ok(largestGap(out, linearReference) <= linearReference.abs().max().item() * 2 ** -7);
      conv.dispose();
      linear.dispose();
    });
  });

  it('a bf16 ResNet stays within bfloat16 error of the float32 one, with float32 weights and gradients', () => {
    tidy(() => {
      const [plain, half] = twins({ precision: 'bf16', memoryFormat: 'channels-last' });
      const images = T.randn([4, 3, 16, 16]);
      const want = forwardBackward(plain, images);
      const got = forwardBackward(half, images);
      const gap = largestGap(got.embedding, want.embedding);
      assert.ok(gap > 0 && gap < 0.05, `bf16 embeddings (unit length) differ from float32 by ${gap}`);
      assert.ok(got.grads.every((g) => g.dtype === 'float32'));
      assert.ok(half.parameters().every((p) => p.dtype === 'float32'));
      plain.dispose();
      half.dispose();
    });
  });

  it('fp16 is refused on a CPU, naming the setting', () => {
    assert.match(precisionProblem('fp16', 'cpu') ?? '', /fp16 runs on CUDA devices only/);
    assert.equal(precisionProblem('fp16', 'cuda:0'), null);
    assert.equal(precisionProblem('bf16', 'cpu'), null);
    assert.throws(() => resolveTrainConfig({ dataset: 'fashion-mnist', precision: 'fp16', out: '/tmp/never-created' }), /precision fp16 on device (\(default\) )?cpu: fp16 runs on CUDA devices only/);
    assert.throws(
      () => benchTrainingSteps({ method: 'baseline', arch: 'resnet-small', imageSize: 16, batchSize: 4, steps: 1, warmup: 0, threads: 1, embedDim: 8, channels: 3, device: 'cpu', seed: 0, precision: 'fp16' }),
      /precision fp16 on cpu/,
    );
  });
});
