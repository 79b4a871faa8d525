// Central finite differences against autograd, in float64, for any scalar function of tensors.
import assert from 'node:assert/strict';
import { grad, noGrad, tensor, tidy, type Tensor } from '../../src/torch/index.js';

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
}

/**
 * Asserts that autograd's gradient of sum(fn(inputs)) w.r.t. each input equals the central
 * difference (f(x + eps) - f(x - eps)) / 2eps, element by element. Inputs must be float64 leaves.
 */
export function gradcheck(fn: (inputs: Tensor[]) => Tensor, inputs: Tensor[], options: GradcheckOptions = {}): void {
  const eps = options.eps ?? 1e-6;
  const atol = options.atol ?? 1e-6;
  const rtol = options.rtol ?? 1e-4;
  tidy(() => {
    const leaves = inputs.map((x) => x.detach().clone().setRequiresGrad(true));
    const analytic = grad(fn(leaves).sum(), leaves, { allowUnused: true }).map((g, i) =>
      g === null ? new Array<number>(inputs[i]!.numel).fill(0) : g.toNumbers(),
    );
    const evaluate = (values: number[][]): number =>
      noGrad(() => tidy(() => fn(values.map((v, i) => tensor(v, inputs[i]!.shape, { dtype: 'float64' }))).sum().item()));
    const base = inputs.map((x) => x.toNumbers());
    for (let i = 0; i < inputs.length; i++) {
      for (let j = 0; j < base[i]!.length; j++) {
        const plus = base.map((v) => v.slice());
        const minus = base.map((v) => v.slice());
        plus[i]![j]! += eps;
        minus[i]![j]! -= eps;
        const numeric = (evaluate(plus) - evaluate(minus)) / (2 * eps);
        const got = analytic[i]![j]!;
        const tolerance = atol + rtol * Math.abs(numeric);
        assert.ok(
          Math.abs(got - numeric) <= tolerance,
          `input ${i} element ${j}: autograd ${got} vs finite difference ${numeric}`,
        );
      }
    }
  });
}

/** float64 tensor from numbers. */
export function f64(values: number[], shape: number[]): Tensor {
  return tensor(values, shape, { dtype: 'float64' });
}

/** Deterministic pseudo-random numbers in [lo, hi) without touching libtorch's generator. */
export function numbers(count: number, seed: number, lo = -1, hi = 1): number[] {
  let s = seed >>> 0 || 1;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out.push(lo + ((s >>> 0) / 4294967296) * (hi - lo));
  }
  return out;
}

export function assertClose(actual: readonly number[], expected: readonly number[], tol = 1e-6, what = 'value'): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} vs ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `${what}[${i}]: ${actual[i]} vs ${expected[i]} (tol ${tol})`);
  }
}

/** Elements of any typed array as a plain array (bigints stay bigints). */
export function values(data: ArrayLike<number> | ArrayLike<bigint>): (number | bigint)[] {
  return Array.from(data as ArrayLike<number | bigint>);
}
