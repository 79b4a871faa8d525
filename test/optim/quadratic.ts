// A small quadratic problem and plain-JS reimplementations of the optimizers' update formulas,
// independent of the tensor code, to check the optimizers' trajectories against.
import { noGrad, tensor, tidy, type Tensor } from '../../src/torch/index.js';

/** f(x) = sum over parameters and elements of a/2 * x^2 + b * x, so df/dx = a * x + b. */
export interface Quadratic {
  shapes: number[][];
  a: number[][];
  b: number[][];
  x0: number[][];
}

export const problem: Quadratic = {
  shapes: [[2, 3], [3]],
  a: [
    [1.0, 2.5, 0.5, 3.0, 0.8, 1.7],
    [0.3, 4.0, 1.2],
  ],
  b: [
    [-1.03, 0.51, 2.07, -0.71, 0.13, -2.29],
    [1.53, -0.41, 0.97],
  ],
  x0: [
    [0.5, -1.2, 2.0, 0.7, -0.3, 1.1],
    [-0.8, 0.25, 1.6],
  ],
};

/** Fresh float64 (or float32) leaf parameters at x0. */
export function makeParams(q: Quadratic = problem, dtype: 'float64' | 'float32' = 'float64'): Tensor[] {
  return q.x0.map((x, i) => tensor(x, q.shapes[i], { dtype }).setRequiresGrad(true));
}

/** Accumulate the quadratic's gradient into the parameters named by `which` (default: all). */
export function backwardOn(params: readonly Tensor[], q: Quadratic = problem, which: readonly number[] = params.map((_, i) => i)): void {
  tidy(() => {
    let loss: Tensor | null = null;
    for (const i of which) {
      const p = params[i]!;
      const a = tensor(q.a[i]!, q.shapes[i], { dtype: p.dtype });
      const b = tensor(q.b[i]!, q.shapes[i], { dtype: p.dtype });
      const term = p.mul(p).mul(a).mul(0.5).add(p.mul(b)).sum();
      loss = loss === null ? term : loss.add(term);
    }
    loss?.backward();
  });
}

export function valuesOf(params: readonly Tensor[]): number[][] {
  return noGrad(() => params.map((p) => p.toNumbers()));
}

export function gradientOf(x: readonly number[], i: number, q: Quadratic = problem): number[] {
  return x.map((v, j) => q.a[i]![j]! * v + q.b[i]![j]!);
}

export interface RefSgd {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
}

/** One SGD update of x (in place), with the momentum buffer in `state`. */
export function refSgdStep(x: number[], grad: readonly number[], state: { buf?: number[] }, h: RefSgd): void {
  let d = grad.map((g, j) => g + h.weightDecay * x[j]!);
  if (h.momentum !== 0) {
    if (state.buf === undefined) state.buf = d.slice();
    else state.buf = state.buf.map((b, j) => h.momentum * b + (1 - h.dampening) * d[j]!);
    const buf = state.buf;
    d = h.nesterov ? d.map((v, j) => v + h.momentum * buf[j]!) : buf.slice();
  }
  for (let j = 0; j < x.length; j++) x[j] = x[j]! - h.lr * d[j]!;
}

export interface RefAdam {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  /** AdamW's decoupled decay instead of Adam's L2 term. */
  decoupled: boolean;
}

export interface RefAdamState {
  t: number;
  m?: number[];
  v?: number[];
  vMax?: number[];
}

/** One Adam/AdamW update of x (in place). */
export function refAdamStep(x: number[], grad: readonly number[], s: RefAdamState, h: RefAdam): void {
  const [b1, b2] = h.betas;
  s.t += 1;
  const n = x.length;
  s.m ??= new Array<number>(n).fill(0);
  s.v ??= new Array<number>(n).fill(0);
  s.vMax ??= new Array<number>(n).fill(0);
  for (let j = 0; j < n; j++) {
    let g = grad[j]!;
    if (h.decoupled) x[j] = x[j]! * (1 - h.lr * h.weightDecay);
    else g += h.weightDecay * x[j]!;
    s.m[j] = b1 * s.m[j]! + (1 - b1) * g;
    s.v[j] = b2 * s.v[j]! + (1 - b2) * g * g;
    s.vMax[j] = Math.max(s.vMax[j]!, s.v[j]!);
    const mHat = s.m[j]! / (1 - b1 ** s.t);
    const vHat = (h.amsgrad ? s.vMax[j]! : s.v[j]!) / (1 - b2 ** s.t);
    x[j] = x[j]! - (h.lr * mHat) / (Math.sqrt(vHat) + h.eps);
  }
}

/** Asserts two nested arrays agree elementwise to `tol` (absolute, plus relative for large values). */
export function assertClose(actual: readonly (readonly number[])[], expected: readonly (readonly number[])[], tol: number, what: string): void {
  if (actual.length !== expected.length) throw new Error(`${what}: ${actual.length} arrays, expected ${expected.length}`);
  actual.forEach((row, i) => {
    const want = expected[i]!;
    if (row.length !== want.length) throw new Error(`${what}: array ${i} has ${row.length} values, expected ${want.length}`);
    row.forEach((v, j) => {
      const w = want[j]!;
      if (!(Math.abs(v - w) <= tol * (1 + Math.abs(w)))) throw new Error(`${what}: [${i}][${j}] = ${v}, expected ${w} (tolerance ${tol})`);
    });
  });
}
