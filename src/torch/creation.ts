// Making tensors: from JS data, constants, ranges and seeded random draws (the global libtorch
// generator, seeded with manualSeed).
import { native } from '../native/index.js';
import { op } from './dispatch.js';
import { dtypeCode, dtypeOfArray, type AnyTypedArray, type DType } from './dtype.js';
import { run, Tensor } from './tensor.js';

export interface CreateOptions {
  dtype?: DType;
  /** 'cpu' (default), 'cuda', 'cuda:1', ... */
  device?: string;
}

function checkShape(shape: readonly number[], what: string): void {
  if (!Array.isArray(shape) || shape.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new TypeError(`${what}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
}

function typedArrayFor(values: readonly number[], dtype: DType): AnyTypedArray {
  switch (dtype) {
    case 'float32':
      return Float32Array.from(values);
    case 'float64':
      return Float64Array.from(values);
    case 'int64':
      return BigInt64Array.from(values, (v) => BigInt(Math.trunc(v)));
    case 'int32':
      return Int32Array.from(values);
    case 'int16':
      return Int16Array.from(values);
    case 'int8':
      return Int8Array.from(values);
    case 'uint8':
    case 'bool':
      return Uint8Array.from(values, (v) => (dtype === 'bool' ? (v ? 1 : 0) : v));
    default:
      throw new TypeError(`tensor(): cannot build ${dtype} from numbers; build float32 and convert with .to()`);
  }
}

/**
 * A tensor holding a copy of `data`. A flat array needs `shape` unless it is meant as 1-D;
 * numbers default to float32, typed arrays keep their own dtype.
 */
export function tensor(data: readonly number[] | AnyTypedArray, shape?: readonly number[], options: CreateOptions = {}): Tensor {
  const length = data.length;
  const dims = shape ?? [length];
  checkShape(dims, 'tensor');
  const numel = dims.reduce((a, b) => a * b, 1);
  if (numel !== length) {
    throw new RangeError(`tensor(): ${length} values do not fill shape [${dims.join(', ')}] (${numel} elements)`);
  }
  let array: AnyTypedArray;
  let dtype: DType;
  if (Array.isArray(data)) {
    dtype = options.dtype ?? 'float32';
    array = typedArrayFor(data, dtype);
  } else {
    const typed = data as AnyTypedArray;
    dtype = options.dtype ?? dtypeOfArray(typed);
    array = typed;
  }
  return new Tensor(native.fromBuffer(array, dims, dtypeCode(dtype), deviceOf(options) ?? undefined));
}

/** A scalar (0-dim) tensor. */
export function scalar(value: number, options: CreateOptions = {}): Tensor {
  return tensor([value], [], options);
}

const factory = {
  zeros: op('zeros'),
  ones: op('ones'),
  full: op('full'),
  empty: op('empty', 'memory_format'),
  arange: op('arange', 'start_step'),
  eye: op('eye'),
  rand: op('rand'),
  randn: op('randn'),
  randint: op('randint', 'low'),
  randperm: op('randperm'),
  zerosLike: op('zeros_like'),
  onesLike: op('ones_like'),
  cat: op('cat'),
  stack: op('stack'),
  where: op('where', 'self'),
};

function dt(options: CreateOptions, fallback: DType = 'float32'): number {
  return dtypeCode(options.dtype ?? fallback);
}

export function zeros(shape: readonly number[], options: CreateOptions = {}): Tensor {
  checkShape(shape, 'zeros');
  return run(factory.zeros, shape, dt(options), null, deviceOf(options));
}
export function ones(shape: readonly number[], options: CreateOptions = {}): Tensor {
  checkShape(shape, 'ones');
  return run(factory.ones, shape, dt(options), null, deviceOf(options));
}
export function full(shape: readonly number[], value: number, options: CreateOptions = {}): Tensor {
  checkShape(shape, 'full');
  return run(factory.full, shape, value, dt(options), null, deviceOf(options));
}
export function empty(shape: readonly number[], options: CreateOptions = {}): Tensor {
  checkShape(shape, 'empty');
  return run(factory.empty, shape, dt(options), null, deviceOf(options));
}
/** start, start+step, ... below end; int64 unless a dtype is given. */
export function arange(start: number, end?: number, step = 1, options: CreateOptions = {}): Tensor {
  const [lo, hi] = end === undefined ? [0, start] : [start, end];
  return run(factory.arange, lo, hi, step, dt(options, 'int64'), null, deviceOf(options));
}
export function eye(n: number, options: CreateOptions = {}): Tensor {
  return run(factory.eye, n, dt(options), null, deviceOf(options));
}
/** U[0, 1) samples. */
export function rand(shape: readonly number[], options: CreateOptions = {}): Tensor {
  checkShape(shape, 'rand');
  return run(factory.rand, shape, dt(options), null, deviceOf(options));
}
/** N(0, 1) samples. */
export function randn(shape: readonly number[], options: CreateOptions = {}): Tensor {
  checkShape(shape, 'randn');
  return run(factory.randn, shape, dt(options), null, deviceOf(options));
}
/** U[low, high) samples. */
export function uniform(shape: readonly number[], low: number, high: number, options: CreateOptions = {}): Tensor {
  return empty(shape, options).uniform_(low, high);
}
/** Integers in [low, high). */
export function randint(low: number, high: number, shape: readonly number[], options: CreateOptions = {}): Tensor {
  checkShape(shape, 'randint');
  return run(factory.randint, low, high, shape, dt(options, 'int64'), null, deviceOf(options));
}
/** A random permutation of 0..n-1. */
export function randperm(n: number, options: CreateOptions = {}): Tensor {
  return run(factory.randperm, n, dt(options, 'int64'), null, deviceOf(options));
}
export function zerosLike(t: Tensor): Tensor {
  return run(factory.zerosLike, t);
}
export function onesLike(t: Tensor): Tensor {
  return run(factory.onesLike, t);
}
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new RangeError('cat(): no tensors given');
  return run(factory.cat, tensors, dim);
}
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new RangeError('stack(): no tensors given');
  return run(factory.stack, tensors, dim);
}
/** Elementwise choice: a where condition holds, else b. */
export function where(condition: Tensor, a: Tensor, b: Tensor): Tensor {
  return run(factory.where, condition, a, b);
}

/** `t` itself when it is on `device` already, else a copy there (the caller owns what it gets). */
export function onDevice(t: Tensor, device: string): Tensor {
  return t.device === device ? t : t.to(device);
}

/** The device a factory is called with: null (libtorch's default, the CPU) for 'cpu' or none. */
function deviceOf(options: CreateOptions): string | null {
  return options.device === undefined || options.device === 'cpu' ? null : options.device;
}
