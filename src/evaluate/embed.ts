// Embedding images with a trained model: a tensor batch, or a folder / list of image files read
// with the evaluation transform that fits the model (its recorded image size and channels).
import { imageFolderSplit, type DataSplit } from '../data/index.js';
import type { LoadedModel } from '../formats/index.js';
import type { EmbeddingModel } from '../nn/index.js';
import { noGrad, type Tensor } from '../torch/index.js';
import { computeWith, resolveCompute, type ComputeRequest } from './compute.js';
import { embedSplit } from './embed-split.js';
import { OptionError } from './options.js';

/** L2-normalised embeddings [n, D] of a normalised image batch [n, C, H, W], without gradients. */
export function embedTensor(model: EmbeddingModel, images: Tensor): Tensor {
  return noGrad(() => model.forward(images));
}

export interface EmbedImagesOptions extends ComputeRequest {
  /** Shorter side after resizing (default: the model's test resize, else 256). */
  resize?: number;
  /** Side of the centre crop (default: the model's image size, else 224). */
  crop?: number;
  batchSize?: number;
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
  const meta = loaded.metadata;
  const crop = positive('crop', options.crop, meta?.image_size ?? 224);
  // Without a recorded resize, ImageNet's convention: 256 before a 224 crop.
  const resize = positive('resize', options.resize, meta?.test_resize ?? (crop === 224 ? 256 : crop));
  if (crop > resize) throw new OptionError('crop', `${crop} must not exceed resize (${resize})`);
  const batchSize = positive('batchSize', options.batchSize, 32);
  if (loaded.inChannels !== 1 && loaded.inChannels !== 3) throw new OptionError('model', `takes ${loaded.inChannels} input channels; images decode to 1 or 3`);
  const compute = resolveCompute(options, { imageSize: crop, testResize: resize, channels: loaded.inChannels, normalization: meta?.normalization ?? 'mean-std' });
  const split: DataSplit & { paths: readonly string[] } = await imageFolderSplit(folder);
  loaded.model.eval();
  computeWith(loaded.model, compute);
  const { rows, dim } = await embedSplit((x) => loaded.model.forward(x), split, { transform: compute.transform, batchSize, device: compute.device, onProgress: options.onProgress });
  return { rows, dim, paths: split.paths };
}
