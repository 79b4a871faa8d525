// Op calls per step: a per-parameter step makes a fixed number of calls per parameter, a
// multi-tensor step the same number per group, whatever the group's size.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Adam, AdamW, CPU_BATCH_ELEMENTS, SGD, type AnyOptimizer, type OptimizerSettings } from '../../src/optim/index.js';
import { noGrad, opCallCount, randn, tidy, type Tensor } from '../../src/torch/index.js';
import { assertSameRun } from './twins.js';

type Build = (p: Tensor[], s: OptimizerSettings) => AnyOptimizer;

// [build, op calls per parameter, per group] in a steady step (state made, every gradient present).
const cases: Record<string, [Build, number, number]> = {
  'SGD, momentum and weight decay': [(p, s) => new SGD(p, { lr: 0.1, momentum: 0.9, weightDecay: 1e-4, ...s }), 4, 4],
  'SGD, nesterov': [(p, s) => new SGD(p, { lr: 0.1, momentum: 0.9, nesterov: true, ...s }), 4, 4],
  'Adam, weight decay': [(p, s) => new Adam(p, { weightDecay: 1e-4, ...s }), 9, 9],
  // amsgrad: maximum then copy_ per parameter, one in-place maximum per group.
  'Adam, amsgrad': [(p, s) => new Adam(p, { amsgrad: true, ...s }), 10, 9],
  AdamW: [(p, s) => new AdamW(p, s), 9, 9],
};

function stepCalls(build: Build, n: number, settings: OptimizerSettings): number {
  return stepCallsOn(Array.from({ length: n }, (_, i) => [3, i + 1]), build, settings);
}

function stepCallsOn(shapes: readonly number[][], build: Build, settings: OptimizerSettings): number {
  const params = shapes.map((shape) => noGrad(() => randn(shape)).setRequiresGrad(true));
  const opt = build(params, settings);
  const setGrads = (): void => tidy(() => params.forEach((p) => (p.grad = randn(p.shape))));
  setGrads();
  opt.step(); // makes the state
  setGrads();
  const before = opCallCount();
  opt.step();
  const calls = opCallCount() - before;
  opt.dispose();
  for (const p of params) p.dispose();
  return calls;
}

describe('op calls per step', () => {
  for (const [name, [build, perParam, perGroup]] of Object.entries(cases)) {
    it(`${name}: ${perParam} per parameter, ${perGroup} per group with foreach`, () => {
      for (const n of [3, 20]) {
        assert.equal(stepCalls(build, n, { foreach: false }), perParam * n, `per parameter, ${n} parameters`);
        assert.equal(stepCalls(build, n, { foreach: true }), perGroup, `foreach, ${n} parameters`);
      }
    });
  }

  it('splits a large CPU group into batches of at most CPU_BATCH_ELEMENTS, with the same result', () => {
    const half = CPU_BATCH_ELEMENTS / 2;
    // [cap + 1] alone (larger than the cap), then [10, half], then [half]: three batches.
    const shapes = [[CPU_BATCH_ELEMENTS + 1], [10], [half], [half]];
    const adam: Build = (p, s) => new Adam(p, { weightDecay: 1e-4, ...s });
    assert.equal(stepCallsOn(shapes, adam, { foreach: true }), 3 * 9);

    const each = shapes.map((shape) => noGrad(() => randn(shape)).setRequiresGrad(true));
    const batched = each.map((p) => noGrad(() => p.clone()).setRequiresGrad(true));
    const opts = [adam(each, { foreach: false }), adam(batched, { foreach: true })];
    for (let step = 0; step < 2; step++) {
      tidy(() =>
        each.forEach((p, i) => {
          const g = randn(p.shape);
          p.grad = g;
          batched[i]!.grad = g.clone();
        }),
      );
      for (const opt of opts) opt.step();
    }
    assertSameRun(opts[0]!, opts[1]!, 'after 2 steps');
    for (const opt of opts) opt.dispose();
    for (const p of [...each, ...batched]) p.dispose();
  });
});
