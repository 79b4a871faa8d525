// No tensor leaks: after the first step creates the optimizer state, 100 more steps (with
// schedules, state dicts and loads) leave the number of live tensors unchanged.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Adam, AdamW, cosineAnnealing, linearWarmup, LrScheduler, SGD, type AnyOptimizer } from '../../src/optim/index.js';
import { dispose, liveTensors, tidy, type Tensor } from '../../src/torch/index.js';
import { backwardOn, makeParams } from './quadratic.js';

const builds: Record<string, (p: Tensor[]) => AnyOptimizer> = {
  'SGD with nesterov momentum and weight decay': (p) => new SGD(p, { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 1e-4 }),
  'Adam with amsgrad and weight decay': (p) => new Adam(p, { lr: 0.01, amsgrad: true, weightDecay: 1e-4 }),
  AdamW: (p) => new AdamW([{ params: [p[0]!] }, { params: [p[1]!], weightDecay: 0 }], { lr: 0.01 }),
};

describe('no tensor leaks', () => {
  for (const [name, build] of Object.entries(builds)) {
    it(`${name}: live tensors constant over 100 steps`, () => {
      const start = liveTensors();
      const params = makeParams();
      const opt = build(params);
      const scheduler = new LrScheduler(opt, linearWarmup({ epochs: 5, then: cosineAnnealing({ tMax: 50 }) }));
      const trainStep = (): void => {
        opt.zeroGrad();
        backwardOn(params);
        opt.step();
        scheduler.step();
      };
      trainStep(); // warm-up: the state tensors are made here
      const settled = liveTensors();
      for (let s = 0; s < 100; s++) {
        trainStep();
        if (s % 25 === 0) tidy(() => opt.loadStateDict(opt.stateDict()));
        assert.equal(liveTensors(), settled, `step ${s + 2}`);
      }
      opt.dispose();
      dispose(params);
      assert.equal(liveTensors(), start, 'everything freed after dispose');
    });
  }
});
