// SGD's trajectory on the quadratic equals the plain-JS update formulas, for each variant.
import { describe, it } from 'node:test';
import { SGD, type SgdOptions } from '../../src/optim/index.js';
import { dispose } from '../../src/torch/index.js';
import { assertClose, backwardOn, gradientOf, makeParams, problem, refSgdStep, valuesOf } from './quadratic.js';

const STEPS = 6;

function checkTrajectory(options: Partial<SgdOptions>): void {
  const h = { lr: 1e-3, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, ...options };
  const params = makeParams();
  const opt = new SGD(params, options);
  const xs = problem.x0.map((x) => x.slice());
  const states = xs.map(() => ({}));
  try {
    for (let step = 0; step < STEPS; step++) {
      opt.zeroGrad();
      backwardOn(params);
      opt.step();
      xs.forEach((x, i) => refSgdStep(x, gradientOf(x, i), states[i]!, h));
      assertClose(valuesOf(params), xs, 1e-6, `step ${step + 1}`);
    }
  } finally {
    opt.dispose();
    dispose(params);
  }
}

describe('SGD', () => {
  it('plain gradient descent', () => checkTrajectory({ lr: 0.1 }));
  it('weight decay', () => checkTrajectory({ lr: 0.1, weightDecay: 0.05 }));
  it('momentum', () => checkTrajectory({ lr: 0.05, momentum: 0.9 }));
  it('momentum with dampening', () => checkTrajectory({ lr: 0.05, momentum: 0.9, dampening: 0.3 }));
  it('nesterov momentum with weight decay', () => checkTrajectory({ lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.01 }));
});
