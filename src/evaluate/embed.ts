// Embedding images with a trained model: a tensor batch, or a folder / list of image files read
// with the evaluation transform that fits the model (its recorded image size and channels).
import { imageFolderSplit, type DataSplit, type TestTransform } from '../data/index.js';
import type { LoadedModel } from '../formats/index.js';
import { precisionProblem, setComputeMode, type EmbeddingModel, type MemoryFormatName, type Precision } from '../nn/index.js';
import { noGrad, resolveDevice, type Tensor } from '../torch/index.js';
import { embedSplit, InputOptionError, modelTransform } from '../retrieval/index.js';
import { OptionError } from './options.js';

/** L2-normalised embeddings [n, D] of a normalised image batch [n, C, H, W], without gradients. */
export function embedTensor(model: EmbeddingModel, images: Tensor): Tensor {
  return noGrad(() => model.forward(images));
}

export interface EmbedImagesOptions {
  /** Shorter side after resizing (default: the model's test resize, else 256). */
  resize?: number;
  /** Side of the centre crop (default: the model's image size, else 224). */
  crop?: number;
  batchSize?: number;
  device?: string;
  /** Compute precision of convolutions and matrix products (default fp32; fp16: CUDA only). */
  precision?: Precision;
  /** Memory format of the convolutions (default contiguous). */
  memoryFormat?: MemoryFormatName;
  onProgress?: (done: number, total: number) => void;
}

export interface Embeddings {
  /** Row-major [paths.length, dim], L2-normalised. */
  rows: Float32Array;
  dim: number;
  /** Relative to the folder, '/'-separated, in row order. */
  paths: readonly string[];
}

function positive(option: string, value: number | undefined, fallback: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 1 || n > 65536) throw new OptionError(option, `expected a positive integer, got ${n}`);
  return n;
}

/** Embeds every image below `folder` (recursive, code-point order of relative paths). */
export async function embedFolder(loaded: LoadedModel, folder: string, options: EmbedImagesOptions = {}): Promise<Embeddings> {
  let transform: TestTransform;
  try {
    transform = modelTransform(loaded, options);
  } catch (err) {
    if (err instanceof InputOptionError) throw new OptionError(err.option, err.detail);
    throw err;
  }
  const batchSize = positive('batchSize', options.batchSize, 32);
  let device: string;
  try {
    device = resolveDevice(options.device ?? 'cpu');
  } catch (err) {
    throw new OptionError('device', (err as Error).message);
  }
  const split: DataSplit & { paths: readonly string[] } = await imageFolderSplit(folder);
  const precisionIssue = precisionProblem(options.precision ?? 'fp32', device);
  if (precisionIssue) throw new OptionError('precision', precisionIssue);
  loaded.model.eval().to(device);
  setComputeMode(loaded.model, { precision: options.precision ?? 'fp32', memoryFormat: options.memoryFormat ?? 'contiguous' });
  const { rows, dim } = await embedSplit((x) => loaded.model.forward(x), split, { transform, batchSize, device, onProgress: options.onProgress });
  return { rows, dim, paths: split.paths };
}
