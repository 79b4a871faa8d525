// How a model computes: the precision of its convolutions and matrix products, and the memory
// format of its convolutions' activations. Mixed precision here is autocast's rule done by the
// layers themselves: a conv or linear layer casts its input and a copy of its float32 weights to
// the compute dtype, runs there, and hands float32 back, so batch norm, pooling, normalisation,
// losses, gradients of the weights and optimizer state all stay float32.
import type { DType, MemoryFormat } from '../torch/index.js';
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
