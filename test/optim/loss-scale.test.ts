// Dynamic loss scaling (float16 training): gradients come back divided exactly by the scale, an
// overflow skips the step and halves the scale, good steps double it; and an MDProp step with a
// loss scale updates the model exactly as the same step without one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MultiSimilarityLoss } from '../../src/dml/index.js';
import { methodStep, presetMethod } from '../../src/methods/index.js';
import { convertToMultiBatchNorm, createModel } from '../../src/nn/index.js';
import { DynamicLossScale, SGD } from '../../src/optim/index.js';
import * as T from '../../src/torch/index.js';
import { tidy } from '../../src/torch/index.js';

describe('dynamic loss scale', () => {
  it('unscales exactly, skips and halves on overflow, doubles after its growth interval', () => {
    tidy(() => {
      const p = T.keep(T.zeros([3]).setRequiresGrad(true));
      const scale = new DynamicLossScale(() => [p], { initial: 8, growthInterval: 2 });
      p.grad = T.tensor([8, -4, 2], [3]);
      assert.equal(scale.unscale(), true);
      assert.deepEqual(p.grad!.toNumbers(), [1, -0.5, 0.25]);
      assert.equal(scale.scale, 8);
      p.grad = T.tensor([1, Infinity, 0], [3]);
      assert.equal(scale.unscale(), false);
      assert.equal(scale.scale, 4);
      assert.deepEqual(p.grad!.toNumbers(), [1, Infinity, 0], 'an overflowed gradient is left for the caller to clear');
      p.grad = T.tensor([4, 4, 4], [3]);
      scale.unscale();
      p.grad = T.tensor([4, 4, 4], [3]);
      scale.unscale();
      assert.equal(scale.scale, 8, 'two good steps double the scale');
      assert.throws(() => new DynamicLossScale(() => [p], { initial: 3 }), /power of two/);
      p.dispose();
    });
  });

  it('an MDProp step with a loss scale makes the same update as one without', () => {
    tidy(() => {
      const method = presetMethod('mdprop');
      const models = [0, 1].map(() => {
        T.manualSeed(4);
        return convertToMultiBatchNorm(createModel({ arch: 'resnet-small', embedDim: 8, inChannels: 1 }), method.branches);
      });
      const images = T.randn([8, 1, 12, 12]);
      const labels = T.tensor([0, 0, 1, 1, 2, 2, 3, 3], [8], { dtype: 'int64' });
      const loss = new MultiSimilarityLoss();
      const results = models.map((model, i) => {
        const optimizer = new SGD(model.parameters(), { lr: 0.1 });
        const lossScale = i === 1 ? new DynamicLossScale(() => optimizer.params, { initial: 2 ** 12 }) : undefined;
        T.manualSeed(7); // the same attack draws for both
        const r = methodStep({ model, method, criterion: loss, optimizer, ...(lossScale ? { lossScale } : {}) }, images, labels);
        optimizer.dispose();
        return r;
      });
      assert.equal(results[1]!.applied, true);
      assert.equal(results[1]!.loss, results[0]!.loss);
      const [a, b] = models.map((m) => m.parameters());
      let worst = 0;
      a!.forEach((p, i) => (worst = Math.max(worst, p.sub(b![i]!).abs().max().item())));
      assert.ok(worst <= 1e-6, `parameters differ by ${worst}`);
      models.forEach((m) => m.dispose());
    });
  });
});
