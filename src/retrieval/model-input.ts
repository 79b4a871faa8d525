// How images reach a model: the evaluation transform its file records (image size, test resize,
// channels, input scaling), by evaluate's own rule, so `mdprop embed`, index builds and search
// queries decode alike.
import type { TestTransform } from '../data/index.js';
import { modelInputSize, withTestImages, type DeviceSetting } from '../evaluate/index.js';
import type { LoadedModel } from '../formats/index.js';

export interface ModelInputOptions {
  /** Shorter side after resizing (default: the model's test resize, else 256). */
  resize?: number;
  /** Side of the centre crop (default: the model's image size, else 224). */
  crop?: number;
}

/** The test transform of a loaded model, with the caller's resize and crop where given (OptionError otherwise). */
export function modelTransform(loaded: LoadedModel, options: ModelInputOptions = {}): TestTransform {
  const { resize, crop } = modelInputSize(loaded, options);
  const device: DeviceSetting = { device: 'cpu', precision: 'fp32', memoryFormat: 'contiguous', threads: undefined };
  return withTestImages(device, { imageSize: crop, testResize: resize, channels: loaded.inChannels as 1 | 3, normalization: loaded.metadata?.normalization ?? 'mean-std' }).transform;
}
