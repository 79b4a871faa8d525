// The Tensor: a JS owner of one native tensor plus typed one-line wrappers of the aten ops that
// metric learning needs. Ops return new tensors registered with the current tidy() scope.
import { native, type NativeHandle, type NativeValue } from '../native/index.js';
import { callNative, op, type OpArg, type OpRef } from './dispatch.js';
import { dtypeCode, dtypeFromCode, isDType, viewAs, type AnyTypedArray, type DType } from './dtype.js';
import { track, type Owned, type Scope } from './scope.js';

export type Scalar = number;
export type TensorOrScalar = Tensor | Scalar;
export type MemoryFormat = 'contiguous' | 'channels_last';
const memoryFormatCode: Record<MemoryFormat, number> = { contiguous: 0, channels_last: 2 };

export interface ValuesIndices {
  values: Tensor;
  indices: Tensor;
}

export class Tensor implements Owned {
  scope: Scope | null = null;
  #handle: NativeHandle | null;
  #shape: readonly number[] | null = null;

  /** Wraps a native handle; use the creation functions (tensor, zeros, ...) rather than this. */
  constructor(handle: NativeHandle) {
    this.#handle = handle;
    track(this);
  }

  get handle(): NativeHandle {
    if (this.#handle === null) throw new Error('tensor used after dispose()');
    return this.#handle;
  }

  get isDisposed(): boolean {
    return this.#handle === null;
  }

  /** Leaving every scope: its memory is now the garbage collector's concern too (see scope.ts). */
  escaped(): void {
    if (this.#handle !== null) native.accountMemory(this.#handle);
  }

  dispose(): void {
    if (this.#handle === null) return;
    native.dispose(this.#handle);
    this.#handle = null;
    this.scope?.release(this);
  }

  // ---- metadata -------------------------------------------------------------------------------
  get shape(): readonly number[] {
    if (this.#shape === null) this.#shape = Object.freeze(native.shape(this.handle));
    return this.#shape;
  }
  get ndim(): number {
    return this.shape.length;
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  get dtype(): DType {
    return dtypeFromCode(native.dtype(this.handle));
  }
  get device(): string {
    return native.device(this.handle);
  }
  size(dim: number): number {
    const d = dim < 0 ? dim + this.ndim : dim;
    const s = this.shape[d];
    if (s === undefined) throw new RangeError(`size(${dim}): tensor of shape [${this.shape.join(', ')}] has no such dim`);
    return s;
  }
  toString(): string {
    return `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}, device=${this.device})`;
  }

  // ---- data out -------------------------------------------------------------------------------
  /** A copy of the elements, row-major, in the typed array of this dtype. */
  data(): AnyTypedArray {
    return viewAs(this.dtype, native.toBuffer(this.handle));
  }
  /** A copy of the elements as float32. */
  toFloat32Array(): Float32Array {
    if (this.dtype === 'float32') return new Float32Array(native.toBuffer(this.handle));
    const t = this.to('float32');
    const out = new Float32Array(native.toBuffer(t.handle));
    t.dispose();
    return out;
  }
  /** The elements as plain numbers (int64 converted; exact below 2^53). */
  toNumbers(): number[] {
    const d = this.data();
    return d instanceof BigInt64Array ? Array.from(d, Number) : Array.from(d as Float32Array);
  }
  item(): number {
    const v = native.item(this.handle);
    return typeof v === 'boolean' ? (v ? 1 : 0) : v;
  }

  // ---- autograd -------------------------------------------------------------------------------
  get requiresGrad(): boolean {
    return native.requiresGrad(this.handle);
  }
  setRequiresGrad(flag = true): this {
    native.setRequiresGrad(this.handle, flag);
    return this;
  }
  get isLeaf(): boolean {
    return native.isLeaf(this.handle);
  }
  /** The version counter: raised by every in-place change of the data (optimizer steps, copy_, ...). */
  get version(): number {
    return native.version(this.handle);
  }
  /** The accumulated gradient (a new owner of it), or null. */
  get grad(): Tensor | null {
    const g = native.grad(this.handle);
    return g === null ? null : new Tensor(g);
  }
  set grad(g: Tensor | null) {
    native.setGrad(this.handle, g === null ? null : g.handle);
  }
  backward(gradient?: Tensor, retainGraph = false): void {
    native.backward(this.handle, gradient ? gradient.handle : null, retainGraph);
  }
  detach(): Tensor {
    return run(ops.detach, this);
  }

  // ---- conversion -----------------------------------------------------------------------------
  /** A copy in another dtype or on another device; with `memoryFormat`, the dtype cast writes that layout in the same pass. */
  to(target: DType | string, memoryFormat?: MemoryFormat): Tensor {
    if (isDType(target)) {
      if (memoryFormat === undefined) return run(ops.toDtype, this, dtypeCode(target), false, false);
      return run(ops.toDtype, this, dtypeCode(target), false, false, memoryFormatCode[memoryFormat]);
    }
    return run(ops.toDevice, this, target, native.dtype(this.handle), false, false);
  }
  float(): Tensor {
    return this.to('float32');
  }
  long(): Tensor {
    return this.to('int64');
  }
  clone(): Tensor {
    return run(ops.clone, this);
  }
  /** Whether the strides are those of `format` (a dense row-major layout for 'contiguous'). */
  isContiguous(format: MemoryFormat = 'contiguous'): boolean {
    return native.isContiguous(this.handle, memoryFormatCode[format]);
  }
  contiguous(format: MemoryFormat = 'contiguous'): Tensor {
    return run(ops.contiguous, this, memoryFormatCode[format]);
  }
  /**
   * Lays this tensor's data out in `format`, in place: the same tensor (parameters, optimizers and
   * graphs that hold it keep holding it) on new memory. Outside autograd; raises the version.
   */
  setMemoryFormat_(format: MemoryFormat): this {
    if (this.isContiguous(format)) return this;
    const moved = run(ops.contiguous, this, memoryFormatCode[format]);
    const wasEnabled = native.isGradEnabled();
    native.setGradEnabled(false);
    try {
      inplace(this, ops.setSource_, this, moved);
    } finally {
      native.setGradEnabled(wasEnabled);
      moved.dispose();
    }
    return this;
  }

  // ---- elementwise ----------------------------------------------------------------------------
  add(other: TensorOrScalar, alpha?: number): Tensor {
    return typeof other === 'number' ? run(ops.addScalar, this, other, alpha) : run(ops.add, this, other, alpha);
  }
  sub(other: TensorOrScalar, alpha?: number): Tensor {
    return typeof other === 'number' ? run(ops.subScalar, this, other, alpha) : run(ops.sub, this, other, alpha);
  }
  /** other - this */
  rsub(other: Scalar): Tensor {
    return run(ops.rsubScalar, this, other);
  }
  mul(other: TensorOrScalar): Tensor {
    return typeof other === 'number' ? run(ops.mulScalar, this, other) : run(ops.mul, this, other);
  }
  div(other: TensorOrScalar): Tensor {
    return typeof other === 'number' ? run(ops.divScalar, this, other) : run(ops.div, this, other);
  }
  pow(exponent: TensorOrScalar): Tensor {
    return typeof exponent === 'number' ? run(ops.powScalar, this, exponent) : run(ops.pow, this, exponent);
  }
  neg(): Tensor {
    return run(ops.neg, this);
  }
  exp(): Tensor {
    return run(ops.exp, this);
  }
  log(): Tensor {
    return run(ops.log, this);
  }
  log1p(): Tensor {
    return run(ops.log1p, this);
  }
  sqrt(): Tensor {
    return run(ops.sqrt, this);
  }
  rsqrt(): Tensor {
    return run(ops.rsqrt, this);
  }
  abs(): Tensor {
    return run(ops.abs, this);
  }
  sign(): Tensor {
    return run(ops.sign, this);
  }
  square(): Tensor {
    return run(ops.mul, this, this);
  }
  reciprocal(): Tensor {
    return run(ops.reciprocal, this);
  }
  sigmoid(): Tensor {
    return run(ops.sigmoid, this);
  }
  tanh(): Tensor {
    return run(ops.tanh, this);
  }
  /** `value` where this <= threshold, else this. */
  threshold(threshold: number, value: number): Tensor {
    return run(ops.threshold, this, threshold, value);
  }
  relu(): Tensor {
    return run(ops.relu, this);
  }
  softplus(beta = 1, threshold = 20): Tensor {
    return run(ops.softplus, this, beta, threshold);
  }
  cos(): Tensor {
    return run(ops.cos, this);
  }
  sin(): Tensor {
    return run(ops.sin, this);
  }
  acos(): Tensor {
    return run(ops.acos, this);
  }
  floor(): Tensor {
    return run(ops.floor, this);
  }
  round(): Tensor {
    return run(ops.round, this);
  }
  /** Clamp to [min, max]; either bound may be omitted. */
  clamp(min?: number | null, max?: number | null): Tensor {
    return run(ops.clamp, this, min ?? null, max ?? null);
  }
  clampMin(min: number): Tensor {
    return run(ops.clampMin, this, min);
  }
  clampMax(max: number): Tensor {
    return run(ops.clampMax, this, max);
  }
  /** Clamp elementwise between two tensors (the PGD box). */
  clampTensor(min: Tensor, max: Tensor): Tensor {
    return run(ops.clampTensor, this, min, max);
  }
  minimum(other: Tensor): Tensor {
    return run(ops.minimum, this, other);
  }
  maximum(other: Tensor): Tensor {
    return run(ops.maximum, this, other);
  }

  // ---- comparison and masks -------------------------------------------------------------------
  eq(other: TensorOrScalar): Tensor {
    return typeof other === 'number' ? run(ops.eqScalar, this, other) : run(ops.eq, this, other);
  }
  ne(other: TensorOrScalar): Tensor {
    return typeof other === 'number' ? run(ops.neScalar, this, other) : run(ops.ne, this, other);
  }
  lt(other: TensorOrScalar): Tensor {
    return typeof other === 'number' ? run(ops.ltScalar, this, other) : run(ops.lt, this, other);
  }
  le(other: TensorOrScalar): Tensor {
    return typeof other === 'number' ? run(ops.leScalar, this, other) : run(ops.le, this, other);
  }
  gt(other: TensorOrScalar): Tensor {
    return typeof other === 'number' ? run(ops.gtScalar, this, other) : run(ops.gt, this, other);
  }
  ge(other: TensorOrScalar): Tensor {
    return typeof other === 'number' ? run(ops.geScalar, this, other) : run(ops.ge, this, other);
  }
  logicalAnd(other: Tensor): Tensor {
    return run(ops.logicalAnd, this, other);
  }
  logicalOr(other: Tensor): Tensor {
    return run(ops.logicalOr, this, other);
  }
  logicalNot(): Tensor {
    return run(ops.logicalNot, this);
  }
  /** Elements where mask is true replaced by value. */
  maskedFill(mask: Tensor, value: TensorOrScalar): Tensor {
    return typeof value === 'number' ? run(ops.maskedFillScalar, this, mask, value) : run(ops.maskedFill, this, mask, value);
  }
  maskedSelect(mask: Tensor): Tensor {
    return run(ops.maskedSelect, this, mask);
  }
  isnan(): Tensor {
    return run(ops.isnan, this);
  }
  isfinite(): Tensor {
    return run(ops.isfinite, this);
  }

  // ---- reductions -----------------------------------------------------------------------------
  sum(dim?: number | number[], keepdim = false): Tensor {
    return dim === undefined ? run(ops.sum, this) : run(ops.sumDim, this, dims(dim), keepdim);
  }
  mean(dim?: number | number[], keepdim = false): Tensor {
    return dim === undefined ? run(ops.mean, this) : run(ops.meanDim, this, dims(dim), keepdim);
  }
  /** Largest element overall. */
  max(): Tensor {
    return run(ops.max, this);
  }
  min(): Tensor {
    return run(ops.min, this);
  }
  maxDim(dim: number, keepdim = false): ValuesIndices {
    return pair(ops.maxDim, this, dim, keepdim);
  }
  minDim(dim: number, keepdim = false): ValuesIndices {
    return pair(ops.minDim, this, dim, keepdim);
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return run(ops.argmax, this, dim ?? null, keepdim);
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return run(ops.argmin, this, dim ?? null, keepdim);
  }
  logsumexp(dim: number | number[], keepdim = false): Tensor {
    return run(ops.logsumexp, this, dims(dim), keepdim);
  }
  /** p-norm over dims (all elements when dim is omitted). */
  norm(p = 2, dim?: number | number[], keepdim = false): Tensor {
    return dim === undefined ? run(ops.normScalar, this, p) : run(ops.normDim, this, p, dims(dim), keepdim);
  }
  variance(dim: number | number[], unbiased = true, keepdim = false): Tensor {
    return run(ops.varDim, this, dims(dim), unbiased, keepdim);
  }
  all(): Tensor {
    return run(ops.all, this);
  }
  any(): Tensor {
    return run(ops.any, this);
  }

  // ---- linear algebra -------------------------------------------------------------------------
  matmul(other: Tensor): Tensor {
    return run(ops.matmul, this, other);
  }
  mm(other: Tensor): Tensor {
    return run(ops.mm, this, other);
  }
  bmm(other: Tensor): Tensor {
    return run(ops.bmm, this, other);
  }
  t(): Tensor {
    return run(ops.t, this);
  }

  // ---- shape ----------------------------------------------------------------------------------
  reshape(shape: readonly number[]): Tensor {
    return run(ops.reshape, this, shape);
  }
  view(shape: readonly number[]): Tensor {
    return run(ops.view, this, shape);
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return run(ops.flatten, this, startDim, endDim);
  }
  transpose(dim0: number, dim1: number): Tensor {
    return run(ops.transpose, this, dim0, dim1);
  }
  permute(order: readonly number[]): Tensor {
    return run(ops.permute, this, order);
  }
  squeeze(dim?: number): Tensor {
    return dim === undefined ? run(ops.squeeze, this) : run(ops.squeezeDim, this, dim);
  }
  unsqueeze(dim: number): Tensor {
    return run(ops.unsqueeze, this, dim);
  }
  expand(shape: readonly number[]): Tensor {
    return run(ops.expand, this, shape);
  }
  repeat(times: readonly number[]): Tensor {
    return run(ops.repeat, this, times);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return run(ops.narrow, this, dim, start, length);
  }
  /** Elements start..end-1 (step apart) along dim; negative indices count from the end. */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return run(ops.slice, this, dim, start ?? null, end ?? null, step);
  }
  select(dim: number, index: number): Tensor {
    return run(ops.select, this, dim, index);
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return run(ops.indexSelect, this, dim, index);
  }
  gather(dim: number, index: Tensor): Tensor {
    return run(ops.gather, this, dim, index, false);
  }
  scatter(dim: number, index: Tensor, src: TensorOrScalar): Tensor {
    return typeof src === 'number' ? run(ops.scatterValue, this, dim, index, src) : run(ops.scatterSrc, this, dim, index, src);
  }
  /** Advanced indexing x[i0, i1, ...]; null leaves a dim whole. */
  index(indices: readonly (Tensor | null)[]): Tensor {
    return run(ops.index, this, indices);
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return runMany(ops.chunk, this, chunks, dim);
  }
  split(sizes: readonly number[], dim = 0): Tensor[] {
    return runMany(ops.splitWithSizes, this, sizes, dim);
  }
  topk(k: number, dim = -1, largest = true, sorted = true): ValuesIndices {
    return pair(ops.topk, this, k, dim, largest, sorted);
  }
  sort(dim = -1, descending = false): ValuesIndices {
    return pair(ops.sort, this, dim, descending);
  }
  argsort(dim = -1, descending = false): Tensor {
    return run(ops.argsort, this, dim, descending);
  }

  // ---- in place (optimizers, PGD updates): return this -----------------------------------------
  copy_(src: Tensor): this {
    return inplace(this, ops.copy_, this, src, false);
  }
  zero_(): this {
    return inplace(this, ops.zero_, this);
  }
  fill_(value: Scalar): this {
    return inplace(this, ops.fill_, this, value);
  }
  add_(other: TensorOrScalar, alpha?: number): this {
    return typeof other === 'number' ? inplace(this, ops.addScalar_, this, other, alpha) : inplace(this, ops.add_, this, other, alpha);
  }
  sub_(other: TensorOrScalar, alpha?: number): this {
    return typeof other === 'number' ? inplace(this, ops.subScalar_, this, other, alpha) : inplace(this, ops.sub_, this, other, alpha);
  }
  mul_(other: TensorOrScalar): this {
    return typeof other === 'number' ? inplace(this, ops.mulScalar_, this, other) : inplace(this, ops.mul_, this, other);
  }
  div_(other: TensorOrScalar): this {
    return typeof other === 'number' ? inplace(this, ops.divScalar_, this, other) : inplace(this, ops.div_, this, other);
  }
  /** this += value * t1 * t2 */
  addcmul_(t1: Tensor, t2: Tensor, value = 1): this {
    return inplace(this, ops.addcmul_, this, t1, t2, value);
  }
  /** this += value * t1 / t2 */
  addcdiv_(t1: Tensor, t2: Tensor, value = 1): this {
    return inplace(this, ops.addcdiv_, this, t1, t2, value);
  }
  clamp_(min?: number | null, max?: number | null): this {
    return inplace(this, ops.clamp_, this, min ?? null, max ?? null);
  }
  /** Fill with samples of U(low, high) from the global generator. */
  uniform_(low = 0, high = 1): this {
    return inplace(this, ops.uniform_, this, low, high);
  }
  normal_(mean = 0, std = 1): this {
    return inplace(this, ops.normal_, this, mean, std);
  }
  /** `value` where this <= threshold, else this, in place (ReLU with 0, 0: libtorch's threshold kernel is faster than relu_'s for bfloat16). */
  threshold_(threshold: number, value: number): this {
    return inplace(this, ops.threshold_, this, threshold, value);
  }
  /** max(this, 0) in place: for activations nothing else reads (autograd checks that). */
  relu_(): this {
    return inplace(this, ops.relu_, this);
  }
  maskedFill_(mask: Tensor, value: Scalar): this {
    return inplace(this, ops.maskedFillScalar_, this, mask, value);
  }
}

function dims(d: number | number[]): number[] {
  return Array.isArray(d) ? d : [d];
}

function wrap(v: NativeValue): Tensor {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('expected a tensor result');
  return new Tensor(v);
}

/** Call an op that returns one tensor. */
export function run(ref: OpRef, ...args: OpArg[]): Tensor {
  return wrap(callNative(ref, args));
}

/** Call an op that returns a list or tuple of tensors. */
export function runMany(ref: OpRef, ...args: OpArg[]): Tensor[] {
  const out = callNative(ref, args);
  if (!Array.isArray(out)) throw new Error(`${ref.name}: expected several results`);
  return out.map((v) => wrap(v));
}

function pair(ref: OpRef, ...args: OpArg[]): ValuesIndices {
  const [values, indices] = runMany(ref, ...args);
  return { values: values!, indices: indices! };
}

/** Call an in-place op on `self`; the handle it returns aliases self and is released at once. */
function inplace<T extends Tensor>(self: T, ref: OpRef, ...args: OpArg[]): T {
  const out = callNative(ref, args);
  if (out !== null && typeof out === 'object' && !Array.isArray(out)) native.dispose(out);
  return self;
}

/** The operators the Tensor methods use, resolved lazily on first call. */
const ops = {
  detach: op('detach'),
  toDtype: op('to', 'dtype'),
  toDevice: op('to', 'device'),
  clone: op('clone'),
  contiguous: op('contiguous'),
  setSource_: op('set_', 'source_Tensor'),
  add: op('add', 'Tensor'),
  addScalar: op('add', 'Scalar'),
  sub: op('sub', 'Tensor'),
  subScalar: op('sub', 'Scalar'),
  rsubScalar: op('rsub', 'Scalar'),
  mul: op('mul', 'Tensor'),
  mulScalar: op('mul', 'Scalar'),
  div: op('div', 'Tensor'),
  divScalar: op('div', 'Scalar'),
  pow: op('pow', 'Tensor_Tensor'),
  powScalar: op('pow', 'Tensor_Scalar'),
  neg: op('neg'),
  exp: op('exp'),
  log: op('log'),
  log1p: op('log1p'),
  sqrt: op('sqrt'),
  rsqrt: op('rsqrt'),
  abs: op('abs'),
  sign: op('sign'),
  reciprocal: op('reciprocal'),
  sigmoid: op('sigmoid'),
  tanh: op('tanh'),
  relu: op('relu'),
  threshold: op('threshold'),
  relu_: op('relu_'),
  softplus: op('softplus'),
  cos: op('cos'),
  sin: op('sin'),
  acos: op('acos'),
  floor: op('floor'),
  round: op('round'),
  clamp: op('clamp'),
  clampTensor: op('clamp', 'Tensor'),
  clampMin: op('clamp_min'),
  clampMax: op('clamp_max'),
  minimum: op('minimum'),
  maximum: op('maximum'),
  eq: op('eq', 'Tensor'),
  eqScalar: op('eq', 'Scalar'),
  ne: op('ne', 'Tensor'),
  neScalar: op('ne', 'Scalar'),
  lt: op('lt', 'Tensor'),
  ltScalar: op('lt', 'Scalar'),
  le: op('le', 'Tensor'),
  leScalar: op('le', 'Scalar'),
  gt: op('gt', 'Tensor'),
  gtScalar: op('gt', 'Scalar'),
  ge: op('ge', 'Tensor'),
  geScalar: op('ge', 'Scalar'),
  logicalAnd: op('logical_and'),
  logicalOr: op('logical_or'),
  logicalNot: op('logical_not'),
  maskedFill: op('masked_fill', 'Tensor'),
  maskedFillScalar: op('masked_fill', 'Scalar'),
  maskedSelect: op('masked_select'),
  isnan: op('isnan'),
  isfinite: op('isfinite'),
  sum: op('sum'),
  sumDim: op('sum', 'dim_IntList'),
  mean: op('mean'),
  meanDim: op('mean', 'dim'),
  max: op('max'),
  min: op('min'),
  maxDim: op('max', 'dim'),
  minDim: op('min', 'dim'),
  argmax: op('argmax'),
  argmin: op('argmin'),
  logsumexp: op('logsumexp'),
  normScalar: op('norm', 'Scalar'),
  normDim: op('norm', 'ScalarOpt_dim'),
  varDim: op('var', 'dim'),
  all: op('all'),
  any: op('any'),
  matmul: op('matmul'),
  mm: op('mm'),
  bmm: op('bmm'),
  t: op('t'),
  reshape: op('reshape'),
  view: op('view'),
  flatten: op('flatten', 'using_ints'),
  transpose: op('transpose', 'int'),
  permute: op('permute'),
  squeeze: op('squeeze'),
  squeezeDim: op('squeeze', 'dim'),
  unsqueeze: op('unsqueeze'),
  expand: op('expand'),
  repeat: op('repeat'),
  narrow: op('narrow'),
  slice: op('slice', 'Tensor'),
  select: op('select', 'int'),
  indexSelect: op('index_select'),
  gather: op('gather'),
  scatterSrc: op('scatter', 'src'),
  scatterValue: op('scatter', 'value'),
  index: op('index', 'Tensor'),
  chunk: op('chunk'),
  splitWithSizes: op('split_with_sizes'),
  topk: op('topk'),
  sort: op('sort'),
  argsort: op('argsort'),
  copy_: op('copy_'),
  zero_: op('zero_'),
  fill_: op('fill_', 'Scalar'),
  add_: op('add_', 'Tensor'),
  addScalar_: op('add_', 'Scalar'),
  sub_: op('sub_', 'Tensor'),
  subScalar_: op('sub_', 'Scalar'),
  mul_: op('mul_', 'Tensor'),
  mulScalar_: op('mul_', 'Scalar'),
  div_: op('div_', 'Tensor'),
  divScalar_: op('div_', 'Scalar'),
  addcmul_: op('addcmul_'),
  addcdiv_: op('addcdiv_'),
  clamp_: op('clamp_'),
  threshold_: op('threshold_'),
  uniform_: op('uniform_'),
  normal_: op('normal_'),
  maskedFillScalar_: op('masked_fill_', 'Scalar'),
};
