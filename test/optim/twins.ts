// Two optimizers over equal copies of the same parameters, one stepping per parameter and one with
// multi-tensor ops, fed the same gradients, so their results can be compared bit for bit.
import assert from 'node:assert/strict';
import { Adam, AdamW, SGD, type AnyOptimizer, type OptimizerSettings } from '../../src/optim/index.js';
import { manualSeed, noGrad, randn, type Tensor } from '../../src/torch/index.js';

export type Build = (params: Tensor[], settings: OptimizerSettings) => AnyOptimizer;

/** Three groups each, with weight decay, momentum, amsgrad and betas differing between them. */
export const builds: Record<string, Build> = {
  'SGD (momentum, dampening, nesterov, plain)': (p, s) =>
    new SGD(
      [
        { params: p.slice(0, 2), momentum: 0.9, dampening: 0.1, weightDecay: 1e-3 },
        { params: p.slice(2, 4), momentum: 0.8, nesterov: true, weightDecay: 0.05 },
        { params: p.slice(4), lr: 0.3 },
      ],
      { lr: 0.1, ...s },
    ),
  'Adam (L2 weight decay, amsgrad)': (p, s) =>
    new Adam(
      [
        { params: p.slice(0, 2), weightDecay: 0.01 },
        { params: p.slice(2, 4), amsgrad: true, weightDecay: 0.02 },
        { params: p.slice(4), betas: [0.8, 0.95], eps: 1e-6 },
      ],
      { lr: 0.05, ...s },
    ),
  'AdamW (decoupled weight decay, amsgrad)': (p, s) =>
    new AdamW(
      [
        { params: p.slice(0, 2), weightDecay: 0.1 },
        { params: p.slice(2, 4), weightDecay: 0 },
        { params: p.slice(4), amsgrad: true },
      ],
      { lr: 0.05, ...s },
    ),
};

export const shapes: number[][] = [[4, 3], [4], [2, 3, 3, 3], [5], [7, 2], [1]];

/** Leaf parameters drawn from a fixed seed. */
export function makeParams(dtypes: readonly ('float32' | 'float64')[] = shapes.map(() => 'float32')): Tensor[] {
  manualSeed(7);
  return shapes.map((shape, i) => noGrad(() => randn(shape, { dtype: dtypes[i]! })).setRequiresGrad(true));
}

export function copyParams(params: readonly Tensor[]): Tensor[] {
  return params.map((p) => noGrad(() => p.clone()).setRequiresGrad(true));
}

/**
 * Give each parameter set the same seeded gradients for step `step` (1-based). Parameter 1 gets
 * none on step 2 and parameter 4 none on step 3, so step counts differ inside a group.
 */
export function setGradients(sets: readonly (readonly Tensor[])[], step: number): void {
  manualSeed(1000 + step);
  const grads = shapes.map((shape, i) => noGrad(() => randn(shape, { dtype: sets[0]![i]!.dtype })));
  const skipped = step === 2 ? 1 : step === 3 ? 4 : -1;
  for (const params of sets) {
    params.forEach((p, i) => {
      if (i === skipped) {
        p.grad = null;
        return;
      }
      // The parameter holds its own reference to the copy; the wrapper is not needed after.
      const g = noGrad(() => grads[i]!.clone());
      p.grad = g;
      g.dispose();
    });
  }
  for (const g of grads) g.dispose();
}

/** Step every optimizer `steps` times on equal gradients, changing the learning rates midway. */
export function stepAll(opts: readonly AnyOptimizer[], sets: readonly (readonly Tensor[])[], from: number, steps: number): void {
  for (let step = from; step < from + steps; step++) {
    setGradients(sets, step);
    for (const opt of opts) {
      // As a schedule would: the groups' fields are read afresh by each step.
      if (step === 4) opt.groups.forEach((g, i) => (g.lr *= 0.5 + 0.1 * i));
      opt.step();
    }
  }
}

function bytes(t: Tensor): Buffer {
  const d = noGrad(() => t.data());
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

/** Bitwise equality of two tensors (so -0 and NaN payloads count too). */
export function assertSameBits(a: Tensor, b: Tensor, what: string): void {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  assert.equal(a.dtype, b.dtype, `${what}: dtype`);
  assert.ok(bytes(a).equals(bytes(b)), `${what}: values differ (first: ${a.toNumbers().slice(0, 4)} vs ${b.toNumbers().slice(0, 4)})`);
}

/** Parameters and every state tensor equal bit for bit, and the same state meta. */
export function assertSameRun(a: AnyOptimizer, b: AnyOptimizer, what: string): void {
  a.params.forEach((p, i) => assertSameBits(p, b.params[i]!, `${what}: parameter ${i}`));
  const sa = a.stateDict();
  const sb = b.stateDict();
  assert.deepEqual(sa.meta, sb.meta, `${what}: state meta`);
  assert.deepEqual([...sa.tensors.keys()], [...sb.tensors.keys()], `${what}: state tensor names`);
  for (const [name, t] of sa.tensors) assertSameBits(t, sb.tensors.get(name)!, `${what}: ${name}`);
  for (const t of [...sa.tensors.values(), ...sb.tensors.values()]) t.dispose();
}

export function disposeParams(params: readonly Tensor[]): void {
  for (const p of params) {
    p.grad = null;
    p.dispose();
  }
}
