// The gradient check of the test suite: autograd against central finite differences, in float64.
import assert from 'node:assert/strict';
import { grad, noGrad, tensor, tidy, type Tensor } from '../../src/torch/index.js';

export interface GradcheckOptions {
  /** Step h of (f(x + h) - f(x - h)) / 2h. */
  readonly eps?: number;
  /** An element passes when |autograd - finite difference| <= max(atol, rtol * |finite difference|). */
  readonly atol?: number;
  readonly rtol?: number;
  /** Names the check in failure messages. */
  readonly what?: string;
}

/**
 * Asserts that autograd's gradient of sum(loss()) with respect to each tensor of `wrt` equals the
 * central difference, element by element, and that no such gradient is identically zero (a zero
 * gradient would agree with any flat function and prove nothing). `wrt` are float64 tensors that
 * require grad (inputs or parameters that `loss` reads); each element is set to x + h and x - h in
 * place, then back to x exactly.
 */
export function checkGradient(loss: () => Tensor, wrt: Tensor | readonly Tensor[], options: GradcheckOptions = {}): void {
  const eps = options.eps ?? 1e-6;
  const atol = options.atol ?? 1e-6;
  const rtol = options.rtol ?? 1e-6;
  const what = options.what ?? 'gradient';
  const inputs = Array.isArray(wrt) ? (wrt as readonly Tensor[]) : [wrt as Tensor];
  for (const [i, x] of inputs.entries()) assert.equal(x.dtype, 'float64', `${what}: input ${i} is ${x.dtype}; gradient checks need float64`);
  const analytic = tidy(() => grad(loss().sum(), [...inputs], { allowUnused: true }).map((g, i) => g?.toNumbers() ?? new Array<number>(inputs[i]!.numel).fill(0)));
  const value = (): number => noGrad(() => tidy(() => loss().sum().item()));
  inputs.forEach((x, i) => {
    const base = x.toNumbers();
    const shape = [...x.shape];
    const set = (values: number[]): void => noGrad(() => tidy(() => void x.copy_(tensor(values, shape, { dtype: 'float64' }))));
    try {
      for (let j = 0; j < base.length; j++) {
        const moved = base.slice();
        moved[j] = base[j]! + eps;
        set(moved);
        const up = value();
        moved[j] = base[j]! - eps;
        set(moved);
        const down = value();
        set(base);
        const numeric = (up - down) / (2 * eps);
        const got = analytic[i]![j]!;
        const tolerance = Math.max(atol, rtol * Math.abs(numeric));
        assert.ok(Math.abs(got - numeric) <= tolerance, `${what}: input ${i} element ${j}: autograd ${got} vs finite difference ${numeric}`);
      }
    } finally {
      set(base);
    }
    assert.ok(analytic[i]!.some((g) => Math.abs(g) > 1e-8), `${what}: the gradient of input ${i} is identically zero; the check proves nothing`);
  });
}

/** checkGradient for a function of fresh inputs: float64 leaf copies of `inputs`, which stay untouched. */
export function gradcheck(fn: (inputs: Tensor[]) => Tensor, inputs: readonly Tensor[], options: GradcheckOptions = {}): void {
  tidy(() => {
    const leaves = inputs.map((x) => x.detach().clone().setRequiresGrad(true));
    checkGradient(() => fn(leaves), leaves, { rtol: 1e-4, ...options });
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
