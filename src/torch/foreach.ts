// Multi-tensor ops: one dispatcher call applies an elementwise op to every tensor of a list, which
// is how optimizers avoid one call per parameter. On the CPU libtorch loops over the list with the
// single-tensor kernels, so the results equal those of the per-tensor ops bit for bit; on CUDA the
// lists are fused into a few kernel launches. The trailing underscore marks in-place ops, as in
// aten. Lists must be non-empty and of equal length; libtorch checks both.
import { callNative, op } from './dispatch.js';
import { runMany, type Tensor } from './tensor.js';

const ops = {
  add: op('_foreach_add', 'List'),
  mulScalar: op('_foreach_mul', 'Scalar'),
  sqrt: op('_foreach_sqrt'),
  add_: op('_foreach_add_', 'List'),
  addScalar_: op('_foreach_add_', 'Scalar'),
  mulScalar_: op('_foreach_mul_', 'Scalar'),
  divScalar_: op('_foreach_div_', 'Scalar'),
  addcmul_: op('_foreach_addcmul_', 'Scalar'),
  addcdiv_: op('_foreach_addcdiv_', 'Scalar'),
  maximum_: op('_foreach_maximum_', 'List'),
};

/** self[i] + alpha * other[i], as new tensors. */
export function foreachAdd(self: readonly Tensor[], other: readonly Tensor[], alpha = 1): Tensor[] {
  return runMany(ops.add, self, other, alpha);
}

/** self[i] * scalar, as new tensors. */
export function foreachMul(self: readonly Tensor[], scalar: number): Tensor[] {
  return runMany(ops.mulScalar, self, scalar);
}

/** sqrt(self[i]), as new tensors. */
export function foreachSqrt(self: readonly Tensor[]): Tensor[] {
  return runMany(ops.sqrt, self);
}

/** self[i] += alpha * other[i] */
export function foreachAdd_(self: readonly Tensor[], other: readonly Tensor[], alpha = 1): void {
  callNative(ops.add_, [self, other, alpha]);
}

/** self[i] += scalar */
export function foreachAddScalar_(self: readonly Tensor[], scalar: number): void {
  callNative(ops.addScalar_, [self, scalar]);
}

/** self[i] *= scalar */
export function foreachMul_(self: readonly Tensor[], scalar: number): void {
  callNative(ops.mulScalar_, [self, scalar]);
}

/** self[i] /= scalar */
export function foreachDiv_(self: readonly Tensor[], scalar: number): void {
  callNative(ops.divScalar_, [self, scalar]);
}

/** self[i] += value * t1[i] * t2[i] */
export function foreachAddcmul_(self: readonly Tensor[], t1: readonly Tensor[], t2: readonly Tensor[], value = 1): void {
  callNative(ops.addcmul_, [self, t1, t2, value]);
}

/** self[i] += value * t1[i] / t2[i] */
export function foreachAddcdiv_(self: readonly Tensor[], t1: readonly Tensor[], t2: readonly Tensor[], value = 1): void {
  callNative(ops.addcdiv_, [self, t1, t2, value]);
}

/** self[i] = max(self[i], other[i]), NaN propagating as in maximum(). */
export function foreachMaximum_(self: readonly Tensor[], other: readonly Tensor[]): void {
  callNative(ops.maximum_, [self, other]);
}
