// Multi-tensor steps against per-parameter steps. On the CPU libtorch runs each _foreach_ op as a
// loop of the single-tensor kernel, and the multi-tensor step repeats the per-parameter arithmetic
// op for op, so the two must agree bit for bit, state included, over several steps.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AnyOptimizer } from '../../src/optim/index.js';
import { liveTensors, tidy } from '../../src/torch/index.js';
import { assertSameRun, builds, copyParams, disposeParams, makeParams, stepAll, type Build } from './twins.js';

function pair(build: Build, dtypes?: readonly ('float32' | 'float64')[]) {
  const eachParams = makeParams(dtypes);
  const batchedParams = copyParams(eachParams);
  const each = build(eachParams, { foreach: false });
  const batched = build(batchedParams, { foreach: true });
  const done = (): void => {
    each.dispose();
    batched.dispose();
    disposeParams(eachParams);
    disposeParams(batchedParams);
  };
  return { eachParams, batchedParams, each, batched, done };
}

describe('multi-tensor steps', () => {
  for (const [name, build] of Object.entries(builds)) {
    describe(name, () => {
      it('chooses multi-tensor steps by default when a group shares one device and dtype', () => {
        const params = makeParams();
        const auto = build(params, {});
        assert.deepEqual(auto.foreach, [true, true, true]);
        const off = build(params, { foreach: false });
        assert.deepEqual(off.foreach, [false, false, false]);
        auto.dispose();
        off.dispose();
        disposeParams(params);
      });

      it('gives bitwise the parameters and state of per-parameter steps, step after step', () => {
        const { eachParams, batchedParams, each, batched, done } = pair(build);
        for (let step = 1; step <= 6; step++) {
          stepAll([each, batched], [eachParams, batchedParams], step, 1);
          assertSameRun(each, batched, `step ${step}`);
        }
        // The steps moved the parameters: the comparison was not between two idle copies.
        const moved = tidy(() => eachParams[0]!.sub(makeParams()[0]!).abs().max().item());
        assert.ok(moved > 1e-3, `parameter 0 moved by ${moved}`);
        done();
      });

      it('batches a group of mixed dtypes by dtype, with the same result', () => {
        const dtypes = ['float32', 'float64', 'float64', 'float64', 'float32', 'float64'] as const;
        const params = makeParams(dtypes);
        const auto = build(params, {});
        // Groups: [f32, f64] and [f32, f64] are mixed, [f64, f64] is not.
        assert.deepEqual(auto.foreach, [false, true, false]);
        auto.dispose();
        disposeParams(params);
        const { eachParams, batchedParams, each, batched, done } = pair(build, dtypes);
        stepAll([each, batched], [eachParams, batchedParams], 1, 5);
        assertSameRun(each, batched, 'after 5 steps');
        done();
      });

      it('state dicts round-trip unchanged and move between the two paths', () => {
        for (const [from, to] of [
          [true, false],
          [false, true],
        ] as const) {
          const reference = makeParams();
          const refOpt = build(reference, { foreach: false });
          const first = copyParams(reference);
          const firstOpt = build(first, { foreach: from });
          stepAll([refOpt, firstOpt], [reference, first], 1, 3);

          // Saving, loading and saving again changes nothing.
          tidy(() => firstOpt.loadStateDict(firstOpt.stateDict()));
          assertSameRun(refOpt, firstOpt, 'after a round trip');

          const secondOpt = build(first, { foreach: to });
          tidy(() => secondOpt.loadStateDict(firstOpt.stateDict()));
          firstOpt.dispose();
          stepAll([refOpt, secondOpt], [reference, first], 4, 3);
          assertSameRun(refOpt, secondOpt, `saved with foreach ${from}, continued with foreach ${to}`);
          refOpt.dispose();
          secondOpt.dispose();
          disposeParams(reference);
          disposeParams(first);
        }
      });

      for (const foreach of [true, false]) {
        it(`leaks no tensors (foreach ${foreach})`, () => {
          const start = liveTensors();
          const params = makeParams();
          const opt: AnyOptimizer = build(params, { foreach });
          stepAll([opt], [params], 1, 1); // the state tensors are made here
          const settled = liveTensors();
          for (let step = 2; step <= 12; step++) {
            stepAll([opt], [params], step, 1);
            if (step % 4 === 0) tidy(() => opt.loadStateDict(opt.stateDict()));
            assert.equal(liveTensors(), settled, `step ${step}`);
          }
          opt.dispose();
          disposeParams(params);
          assert.equal(liveTensors(), start, 'everything freed after dispose');
        });
      }
    });
  }
});
