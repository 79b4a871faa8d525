// Forward and backward inside tidy() leave no tensor behind: only the model's own remain.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createModel } from '../../src/nn/index.js';
import { liveTensors, manualSeed, noGrad, randn, tidy } from '../../src/torch/index.js';

describe('no leaks', () => {
  it('training and eval steps return liveTensors() to its start', () => {
    manualSeed(7);
    const model = createModel({ arch: 'resnet-small', embedDim: 8, inChannels: 1 });
    try {
      const start = liveTensors();
      for (let step = 0; step < 3; step++) {
        tidy(() => {
          model.train().zeroGrad();
          const out = model.forwardAll(randn([4, 1, 28, 28]));
          out.embedding.sum().add(out.features.mean()).backward();
          for (const p of model.parameters()) assert.ok(p.grad !== null);
        });
        tidy(() => {
          noGrad(() => model.eval().forward(randn([2, 1, 28, 28])));
        });
        assert.equal(liveTensors(), start, `after step ${step}`);
      }
      model.zeroGrad();
      assert.equal(liveTensors(), start);
      const owned = model.namedParameters().length + model.namedBuffers().length;
      model.dispose();
      assert.equal(liveTensors(), start - owned);
    } finally {
      model.dispose();
    }
  });

  it('a forward outside any scope hands the caller exactly one new tensor', () => {
    const model = createModel({ arch: 'resnet-small', embedDim: 8 });
    try {
      const x = randn([2, 3, 32, 32]);
      const start = liveTensors();
      const e = noGrad(() => model.eval().forward(x));
      assert.equal(liveTensors(), start + 1);
      e.dispose();
      x.dispose();
      assert.equal(liveTensors(), start - 1);
    } finally {
      model.dispose();
    }
  });

  it('to() replaces tensors without leaving the old ones alive', () => {
    const model = createModel({ arch: 'resnet-small', embedDim: 8 });
    try {
      const start = liveTensors();
      model.to('float64').to('cpu').to('float32');
      assert.equal(liveTensors(), start);
      assert.ok(model.parameters().every((p) => p.dtype === 'float32' && p.requiresGrad && p.isLeaf && p.device === 'cpu'));
    } finally {
      model.dispose();
    }
  });
});
