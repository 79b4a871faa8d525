// Parameter groups, learning-rate changes, parameters without gradients, zeroGrad, validation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Adam, AdamW, SGD } from '../../src/optim/index.js';
import { dispose, tensor } from '../../src/torch/index.js';
import {
  assertClose,
  backwardOn,
  gradientOf,
  makeParams,
  problem,
  refAdamStep,
  refSgdStep,
  valuesOf,
  type RefAdamState,
} from './quadratic.js';

describe('parameter groups', () => {
  it('each group uses its own lr and weight decay, others take the defaults', () => {
    const params = makeParams();
    const opt = new SGD(
      [
        { params: [params[0]!], lr: 0.2, weightDecay: 0.1, name: 'backbone' },
        { params: [params[1]!], nesterov: true },
      ],
      { lr: 0.05, momentum: 0.9 },
    );
    assert.deepEqual(opt.lrs, [0.2, 0.05]);
    assert.equal(opt.groups[0]!.name, 'backbone');
    assert.equal(opt.groups[1]!.name, 'group1');
    assert.equal(opt.groups[0]!.momentum, 0.9);
    const hs = [
      { lr: 0.2, momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0.1 },
      { lr: 0.05, momentum: 0.9, dampening: 0, nesterov: true, weightDecay: 0 },
    ];
    const xs = problem.x0.map((x) => x.slice());
    const states = xs.map(() => ({}));
    for (let step = 0; step < 5; step++) {
      opt.zeroGrad();
      backwardOn(params);
      opt.step();
      xs.forEach((x, i) => refSgdStep(x, gradientOf(x, i), states[i]!, hs[i]!));
      assertClose(valuesOf(params), xs, 1e-6, `step ${step + 1}`);
    }
    opt.dispose();
    dispose(params);
  });

  it('a learning rate set between steps is used by the next step', () => {
    const params = makeParams();
    const opt = new AdamW([{ params: [params[0]!] }, { params: [params[1]!], lr: 0.01 }], { lr: 0.1 });
    const h = { lr: 0.1, betas: [0.9, 0.999] as const, eps: 1e-8, weightDecay: 1e-2, amsgrad: false, decoupled: true };
    const lrs = [
      [0.1, 0.01],
      [0.05, 0.02],
      [0.3, 0],
    ];
    const xs = problem.x0.map((x) => x.slice());
    const states: RefAdamState[] = xs.map(() => ({ t: 0 }));
    for (const [step, pair] of lrs.entries()) {
      opt.groups.forEach((g, i) => (g.lr = pair[i]!));
      opt.zeroGrad();
      backwardOn(params);
      opt.step();
      xs.forEach((x, i) => refAdamStep(x, gradientOf(x, i), states[i]!, { ...h, lr: pair[i]! }));
      assertClose(valuesOf(params), xs, 1e-6, `step ${step + 1}`);
    }
    opt.dispose();
    dispose(params);
  });

  it('parameters without a gradient are skipped: no update, no state, no step count', () => {
    const params = makeParams();
    const opt = new Adam(params, { lr: 0.1 });
    const h = { lr: 0.1, betas: [0.9, 0.999] as const, eps: 1e-8, weightDecay: 0, amsgrad: false, decoupled: false };
    const xs = problem.x0.map((x) => x.slice());
    const states: RefAdamState[] = xs.map(() => ({ t: 0 }));
    // Parameter 1 has a gradient on steps 2 and 4 only, so its bias correction lags behind.
    for (let step = 1; step <= 4; step++) {
      const which = step % 2 === 0 ? [0, 1] : [0];
      opt.zeroGrad();
      backwardOn(params, problem, which);
      opt.step();
      for (const i of which) refAdamStep(xs[i]!, gradientOf(xs[i]!, i), states[i]!, h);
      assertClose(valuesOf(params), xs, 1e-6, `step ${step}`);
      if (step === 1) {
        const { tensors, meta } = opt.stateDict();
        assert.deepEqual([...tensors.keys()].sort(), ['state.0.exp_avg', 'state.0.exp_avg_sq']);
        assert.deepEqual(
          meta.params.map((p) => p.step),
          [1, 0],
        );
        dispose(tensors);
      }
    }
    const { tensors, meta } = opt.stateDict();
    assert.deepEqual(
      meta.params.map((p) => p.step),
      [4, 2],
    );
    dispose(tensors);
    opt.dispose();
    dispose(params);
  });

  it('zeroGrad drops every gradient, and a step without gradients changes nothing', () => {
    const params = makeParams();
    const opt = new SGD(params, { lr: 0.1, momentum: 0.9 });
    backwardOn(params);
    assert.ok(params.every((p) => p.grad !== null));
    opt.zeroGrad();
    for (const p of params) assert.equal(p.grad, null);
    const before = valuesOf(params);
    opt.step();
    assert.deepEqual(valuesOf(params), before);
    // Gradients no longer accumulate across steps once zeroed.
    backwardOn(params);
    opt.zeroGrad();
    backwardOn(params);
    const g = params[1]!.grad!;
    assertClose([g.toNumbers()], [gradientOf(problem.x0[1]!, 1)], 1e-12, 'gradient after zeroGrad');
    g.dispose();
    opt.dispose();
    dispose(params);
  });

  it('rejects bad parameters and hyperparameters with clear errors', () => {
    const params = makeParams();
    const w = params[0]!;
    const b = params[1]!;
    assert.throws(() => new SGD([]), /parameter list is empty/);
    assert.throws(() => new SGD([w, w]), /parameter 1 appears more than once/);
    assert.throws(() => new SGD([{ params: [w] }, { params: [w, b] }]), /appears more than once/);
    assert.throws(() => new SGD([w.mul(2)]), /not a leaf/);
    assert.throws(() => new SGD([w], { lr: -1 }), /lr must be a finite number >= 0/);
    assert.throws(() => new SGD([w], { nesterov: true }), /nesterov needs momentum > 0/);
    assert.throws(() => new SGD([w], { momentum: 0.9, dampening: 0.1, nesterov: true }), /dampening 0/);
    assert.throws(() => new Adam([w], { betas: [0.9, 1] }), /betas must be two numbers in \[0, 1\)/);
    assert.throws(() => new Adam([{ params: [w], lr: Number.NaN, name: 'head' }]), /adam group 'head': lr/);
    assert.throws(() => new Adam([{ params: [w], wd: 0.1 } as never]), /unknown option 'wd'/);
    const opt = new Adam([w]);
    opt.groups[0]!.lr = -0.5;
    assert.throws(() => opt.step(), /lr must be a finite number >= 0, got -0.5/);
    opt.dispose();
    dispose(params);
  });

  it('a plain tensor list is one group with the defaults', () => {
    const p = tensor([1, 2]).setRequiresGrad(true);
    const opt = new AdamW([p]);
    assert.equal(opt.groups.length, 1);
    assert.equal(opt.groups[0]!.weightDecay, 1e-2);
    assert.equal(opt.groups[0]!.lr, 1e-3);
    assert.deepEqual(opt.groups[0]!.betas, [0.9, 0.999]);
    assert.equal(opt.params[0], p);
    p.dispose();
  });
});
