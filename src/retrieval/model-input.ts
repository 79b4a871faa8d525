// How images reach a model: the evaluation transform its file records (image size, test resize,
// channels, input scaling). `mdprop embed`, index builds and search queries share this one rule,
// so a gallery and its queries are decoded alike.
import { inputScaling, testTransform, type TestTransform } from '../data/index.js';
import type { LoadedModel } from '../formats/index.js';

/** An input setting that cannot be used; `option` names it (`crop`, `resize`, `model`). */
export class InputOptionError extends Error {
  override name = 'InputOptionError';
  constructor(
    readonly option: string,
    readonly detail: string,
  ) {
    super(`${option}: ${detail}`);
  }
}

export interface ModelInputOptions {
  /** Shorter side after resizing (default: the model's test resize, else 256). */
  resize?: number;
  /** Side of the centre crop (default: the model's image size, else 224). */
  crop?: number;
}

function side(option: string, value: number | undefined, fallback: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 1 || n > 65536) throw new InputOptionError(option, `expected a positive integer, got ${n}`);
  return n;
}

/** Resize and crop of a loaded model's images: the caller's where given, else what its file records. */
export function modelInputSize(loaded: LoadedModel, options: ModelInputOptions = {}): { resize: number; crop: number } {
  const meta = loaded.metadata;
  const crop = side('crop', options.crop, meta?.image_size ?? 224);
  // Without a recorded resize, ImageNet's convention: 256 before a 224 crop.
  const resize = side('resize', options.resize, meta?.test_resize ?? (crop === 224 ? 256 : crop));
  if (crop > resize) throw new InputOptionError('crop', `${crop} must not exceed resize (${resize})`);
  if (loaded.inChannels !== 1 && loaded.inChannels !== 3) throw new InputOptionError('model', `takes ${loaded.inChannels} input channels; images decode to 1 or 3`);
  return { resize, crop };
}

/** The test transform of a loaded model, with the caller's resize and crop where given. */
export function modelTransform(loaded: LoadedModel, options: ModelInputOptions = {}): TestTransform {
  const { resize, crop } = modelInputSize(loaded, options);
  const channels = loaded.inChannels as 1 | 3;
  return testTransform({ resize, crop, channels, ...inputScaling(loaded.metadata?.normalization ?? 'mean-std', channels) });
}
