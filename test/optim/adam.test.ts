// Adam's and AdamW's trajectories on the quadratic equal the plain-JS update formulas.
import { describe, it } from 'node:test';
import { Adam, AdamW, type AdamOptions } from '../../src/optim/index.js';
import { dispose } from '../../src/torch/index.js';
import { assertClose, backwardOn, gradientOf, makeParams, problem, refAdamStep, valuesOf, type RefAdamState } from './quadratic.js';

const STEPS = 6;

function checkTrajectory(kind: 'adam' | 'adamw', options: Partial<AdamOptions>): void {
  const decoupled = kind === 'adamw';
  const h = { lr: 1e-3, betas: [0.9, 0.999] as const, eps: 1e-8, weightDecay: decoupled ? 1e-2 : 0, amsgrad: false, ...options, decoupled };
  const params = makeParams();
  const opt = decoupled ? new AdamW(params, options) : new Adam(params, options);
  const xs = problem.x0.map((x) => x.slice());
  const states: RefAdamState[] = xs.map(() => ({ t: 0 }));
  try {
    for (let step = 0; step < STEPS; step++) {
      opt.zeroGrad();
      backwardOn(params);
      opt.step();
      xs.forEach((x, i) => refAdamStep(x, gradientOf(x, i), states[i]!, h));
      assertClose(valuesOf(params), xs, 1e-6, `step ${step + 1}`);
    }
  } finally {
    opt.dispose();
    dispose(params);
  }
}

describe('Adam', () => {
  it('defaults', () => checkTrajectory('adam', {}));
  it('large steps, other betas, eps', () => checkTrajectory('adam', { lr: 0.2, betas: [0.5, 0.9], eps: 1e-3 }));
  it('L2 weight decay added to the gradient', () => checkTrajectory('adam', { lr: 0.1, weightDecay: 0.3 }));
  it('amsgrad', () => checkTrajectory('adam', { lr: 0.3, betas: [0.8, 0.7], amsgrad: true, weightDecay: 0.1 }));
});

describe('AdamW', () => {
  it('default decoupled weight decay', () => checkTrajectory('adamw', { lr: 0.1 }));
  it('strong decoupled weight decay', () => checkTrajectory('adamw', { lr: 0.1, weightDecay: 0.5, betas: [0.6, 0.95] }));
  it('amsgrad', () => checkTrajectory('adamw', { lr: 0.3, betas: [0.8, 0.7], amsgrad: true, weightDecay: 0.2 }));
});
