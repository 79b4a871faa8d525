// A loaded model with the transform its file records: embeds a split (index builds) or a batch of
// already decoded query images (search, the service), always in eval mode without gradients.
import type { DataSplit, TestTransform } from '../data/index.js';
import { loadModelFile, type LoadedModel } from '../formats/index.js';
import * as T from '../torch/index.js';
import { noGrad, resolveDevice, tidy } from '../torch/index.js';
import { embedSplit } from '../evaluate/index.js';
import { IndexError } from './errors.js';
import { hashFile } from './model-ref.js';
import { modelTransform, type ModelInputOptions } from './model-input.js';

export class Embedder {
  readonly transform: TestTransform;
  readonly device: string;

  constructor(
    readonly loaded: LoadedModel,
    /** SHA-256 of the model file. */
    readonly sha256: string,
    options: ModelInputOptions & { device?: string } = {},
  ) {
    this.transform = modelTransform(loaded, options);
    this.device = resolveDevice(options.device ?? 'cpu');
    loaded.model.eval().to(this.device);
  }

  /** Loads a model file and hashes it; `expectedSha256` refuses a file whose bytes differ. */
  static async open(file: string, options: { branch?: number; device?: string; expectedSha256?: string } = {}): Promise<Embedder> {
    const sha256 = await hashFile(file);
    if (options.expectedSha256 !== undefined && sha256 !== options.expectedSha256) {
      throw new IndexError(`the index holds embeddings of the model with sha256 ${options.expectedSha256}; ${file} has sha256 ${sha256}: embeddings of another model are refused`);
    }
    const loaded = loadModelFile(file, { branch: options.branch ?? 0 });
    try {
      return new Embedder(loaded, sha256, { device: options.device });
    } catch (err) {
      loaded.model.dispose();
      throw err;
    }
  }

  get dim(): number {
    return this.loaded.embedDim;
  }

  /** Input shape of one image: channels, height, width. */
  get inputShape(): [number, number, number] {
    return inputShapeOf(this.transform);
  }

  /** Embeddings (row-major [size, dim]) of every image of a split, in split order. */
  async embedSplit(split: DataSplit, batchSize: number, onProgress?: (done: number, total: number) => void): Promise<Float32Array> {
    return (await embedSplit((x) => this.loaded.model.forward(x), split, { transform: this.transform, batchSize, device: this.device, onProgress })).rows;
  }

  /** Embeddings [images.length, dim] of decoded inputs (each CHW, as the transform makes them). */
  embedInputs(images: readonly Float32Array[]): Float32Array {
    return this.embedBatch(stackInputs(images, this.inputShape));
  }

  /** Embeddings [n, dim] of n decoded inputs laid end to end (row-major [n, C, H, W]). */
  embedBatch(batch: Float32Array): Float32Array {
    const [c, h, w] = this.inputShape;
    const n = batch.length / (c * h * w);
    if (!Number.isInteger(n)) throw new IndexError(`a batch of ${batch.length} values is not whole inputs of ${c}x${h}x${w}`);
    if (n === 0) return new Float32Array(0);
    return tidy(() => noGrad(() => this.loaded.model.forward(T.tensor(batch, [n, c, h, w]).to(this.device)).to('cpu').contiguous().toFloat32Array()));
  }

  dispose(): void {
    this.loaded.model.dispose();
  }
}

/** The shape (channels, height, width) of one input the transform makes. */
export function inputShapeOf(transform: TestTransform): [number, number, number] {
  return [transform.channels, transform.crop, transform.crop];
}

/** Inputs of one shape (each CHW) laid end to end in one new array; a wrong size is named. */
export function stackInputs(images: readonly Float32Array[], [c, h, w]: readonly [number, number, number]): Float32Array<ArrayBuffer> {
  const each = c * h * w;
  const batch = new Float32Array(images.length * each);
  images.forEach((image, i) => {
    if (image.length !== each) throw new IndexError(`input ${i} has ${image.length} values, expected ${c}x${h}x${w}`);
    batch.set(image, i * each);
  });
  return batch;
}
