// Where and how a model computes, resolved once: the device, the precision of its convolutions and
// matrix products, the memory format of its convolutions, libtorch's CPU threads, and the test
// transform that turns images into its input. Training, evaluation, embedding, the views and
// bench each make one with resolveCompute and apply it with computeWith, so every setting is
// checked, defaulted and applied in one place.
import { inputScaling, testTransform, type TestTransform } from '../data/index.js';
import { defaultMemoryFormat, precisionProblem, setComputeMode, type EmbeddingModel, type MemoryFormatName, type Precision } from '../nn/index.js';
import { resolveDevice, setNumThreads } from '../torch/index.js';
import { OptionError } from './option-error.js';

/**
 * What a caller asks for; anything left out takes COMPUTE_DEFAULTS (threads: libtorch's own;
 * the memory format: the one the precision runs fastest in, defaultMemoryFormat).
 */
export interface ComputeRequest {
  device?: string;
  precision?: Precision;
  memoryFormat?: MemoryFormatName;
  threads?: number;
}

/** The images a model takes, as a run or a model file records them. */
export interface TestImages {
  /** Side of the centre crop. */
  imageSize: number;
  /** Shorter side before the crop. */
  testResize: number;
  channels: 1 | 3;
  normalization: 'mean-std' | 'none';
}

/** Where a model runs and how its layers compute. */
export interface DeviceSetting {
  readonly device: string;
  readonly precision: Precision;
  readonly memoryFormat: MemoryFormatName;
  /** libtorch's CPU threads; undefined leaves them as they are. */
  readonly threads: number | undefined;
}

export interface ComputeSetting extends DeviceSetting {
  readonly transform: TestTransform;
}

export const COMPUTE_DEFAULTS = { device: 'cpu', precision: 'fp32' } as const satisfies Required<Omit<ComputeRequest, 'threads' | 'memoryFormat'>>;

/** Help text of each compute option, shared by every command that takes them. */
export const COMPUTE_TEXT = {
  device: "'cpu' or 'cuda[:N]' (default cpu)",
  precision: 'precision of convolutions and matrix products: fp32 (default), bf16, or fp16 (CUDA only)',
  memoryFormat: 'memory format of the convolutions: contiguous (NCHW) or channels-last (NHWC); default channels-last for bf16 on a CPU, else contiguous',
  threads: 'CPU threads of libtorch (default: the number of cores)',
} as const;

/** Checks and fills in a compute setting; throws OptionError naming `device`, `precision` or `imageSize`. */
export function resolveCompute(request: ComputeRequest, images: TestImages): ComputeSetting {
  return withTestImages(resolveDeviceSetting(request), images);
}

/** The device half alone, checked before a model or an image is read; throws OptionError naming `device` or `precision`. */
export function resolveDeviceSetting(request: ComputeRequest): DeviceSetting {
  let device: string;
  try {
    device = resolveDevice(request.device ?? COMPUTE_DEFAULTS.device);
  } catch (err) {
    throw new OptionError('device', (err as Error).message);
  }
  const precision = request.precision ?? COMPUTE_DEFAULTS.precision;
  const problem = precisionProblem(precision, device);
  if (problem) throw new OptionError('precision', `${problem} (precision ${precision} on ${device})`);
  return { device, precision, memoryFormat: request.memoryFormat ?? defaultMemoryFormat(precision, device), threads: request.threads };
}

/** A device setting completed with the test transform of the model's images. */
export function withTestImages(setting: DeviceSetting, images: TestImages): ComputeSetting {
  if (images.imageSize > images.testResize) throw new OptionError('imageSize', `${images.imageSize} must not exceed testResize (${images.testResize})`);
  const { channels } = images;
  return { ...setting, transform: testTransform({ resize: images.testResize, crop: images.imageSize, channels, ...inputScaling(images.normalization, channels) }) };
}

/** Sets libtorch's threads, moves the model to the device, and sets its precision and memory format. */
export function computeWith(model: EmbeddingModel, setting: ComputeSetting): void {
  if (setting.threads !== undefined) setNumThreads(setting.threads);
  model.to(setting.device);
  setComputeMode(model, { precision: setting.precision, memoryFormat: setting.memoryFormat });
}
