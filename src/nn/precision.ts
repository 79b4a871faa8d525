// How a model computes: the precision of its convolutions and matrix products, and the memory
// format of its convolutions' activations.
//
// Mixed precision follows autocast's rules, done by the layers themselves. Convolutions and linear
// layers run in the compute dtype (bfloat16, or float16 on CUDA) and return it, so activations
// stay 16-bit from one layer to the next: batch norm takes them with its float32 scale, shift and
// running statistics (libtorch's kernels accept the mix) and returns them in 16 bits; pooling,
// ReLU and the residual sums run on them as they are. Each float32 weight is cast once per change
// (weight-cast.ts), inside the graph, so its gradient arrives in float32 on the float32 master.
// A model's outputs (embeddings, logits) return to float32, so L2 normalisation, losses, optimizer
// state and everything downstream are float32. In fp32 nothing of this runs: the layers are
// exactly the float32 ones.
import { isReducedFloat, type DType, type MemoryFormat, type Tensor } from '../torch/index.js';
import { Conv2d } from './conv.js';
import { Linear } from './linear.js';
import type { Module } from './module.js';

export const PRECISIONS = ['fp32', 'bf16', 'fp16'] as const;
export type Precision = (typeof PRECISIONS)[number];

/** The names users write; 'channels-last' is libtorch's channels_last (NHWC strides). */
export const MEMORY_FORMATS = ['contiguous', 'channels-last'] as const;
export type MemoryFormatName = (typeof MEMORY_FORMATS)[number];

// fp32 computes in whatever dtype the input has (float32 in practice; float64 in gradient checks).
const COMPUTE_DTYPE: Record<Precision, DType | null> = { fp32: null, bf16: 'bfloat16', fp16: 'float16' };

export function isPrecision(name: string): name is Precision {
  return (PRECISIONS as readonly string[]).includes(name);
}

export function isMemoryFormatName(name: string): name is MemoryFormatName {
  return (MEMORY_FORMATS as readonly string[]).includes(name);
}

/** Why a precision cannot run on a device, or null when it can. */
export function precisionProblem(precision: Precision, device: string): string | null {
  if (precision === 'fp16' && !device.startsWith('cuda')) {
    return "fp16 runs on CUDA devices only (libtorch's CPU float16 convolutions are missing or slow); use bf16 on a CPU";
  }
  return null;
}

/**
 * The memory format a precision runs fastest in when none is asked for. float32 stays contiguous
 * (NCHW: faster on CPUs without bfloat16 units, and exactly what runs before the setting existed
 * computed). bfloat16 on a CPU takes channels-last: oneDNN's bfloat16 convolutions run in NHWC,
 * so contiguous activations are reordered at every layer, and `bench/bf16-check.js` measured it
 * faster in both engines on a CPU with AMX-BF16 (see README, Performance against PyTorch).
 */
export function defaultMemoryFormat(precision: Precision, device = 'cpu'): MemoryFormatName {
  return precision === 'bf16' && device === 'cpu' ? 'channels-last' : 'contiguous';
}

/** Sets the compute precision and the convolutions' memory format of every layer of `model`. */
export function setComputeMode(model: Module<unknown, unknown>, mode: { precision?: Precision; memoryFormat?: MemoryFormatName }): void {
  const dtype = COMPUTE_DTYPE[mode.precision ?? 'fp32'];
  const format: MemoryFormat = mode.memoryFormat === 'channels-last' ? 'channels_last' : 'contiguous';
  for (const [, m] of model.namedModules()) {
    if (m instanceof Conv2d) {
      m.computeDtype = dtype;
      m.memoryFormat = format;
    } else if (m instanceof Linear) m.computeDtype = dtype;
  }
}

/** The dtype the model's convolutions and linear layers compute in; null when they compute in the input's (fp32). */
export function computeDtypeOf(model: Module<unknown, unknown>): DType | null {
  for (const [, m] of model.namedModules()) if (m instanceof Conv2d || m instanceof Linear) return m.computeDtype;
  return null;
}

/**
 * Casts the weights of every mixed-precision layer of `model` into the graph now, while they still
 * take gradients (see WeightCasts.prepare): freezing the weights for a step's attacks calls it, so
 * the attacks and the training forward after them share one cast per weight (from the second
 * step on: the first has no casts yet to renew).
 */
export function prepareWeightCasts(model: Module<unknown, unknown>): void {
  for (const [, m] of model.namedModules()) if (m instanceof Conv2d || m instanceof Linear) m.prepareCasts();
}

/** `x` in float32 when it is a 16-bit float (a model's output leaving mixed precision), else `x` itself. */
export function fullPrecision(x: Tensor): Tensor {
  return isReducedFloat(x.dtype) ? x.to('float32') : x;
}
