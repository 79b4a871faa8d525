// The DataSplit implementations: images stored as files under a root, images held in memory as
// pixels (embedded datasets), and a subset view used by the `limit` option.
import path from 'node:path';
import type { DataSplit, ImageSource, SplitName } from './types.js';

/** Assigns contiguous labels to class keys, in the order of `classOrder` (keys absent there are an error). */
export function labelsFor(keys: readonly string[], classOrder: readonly string[]): Int32Array {
  const labelOf = new Map<string, number>();
  classOrder.forEach((key, i) => labelOf.set(key, i));
  const labels = new Int32Array(keys.length);
  keys.forEach((key, i) => {
    const label = labelOf.get(key);
    if (label === undefined) throw new Error(`internal: class ${key} missing from the class order`);
    labels[i] = label;
  });
  return labels;
}

export function countDistinct(labels: Int32Array): number {
  return new Set(labels).size;
}

/** Sorts strings by code point, as Python's sorted() does, so class order matches the reference code. */
export function byCodePoint(a: string, b: string): number {
  // UTF-16 order differs from code-point order only for characters beyond U+FFFF.
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

export class FileSplit implements DataSplit {
  readonly size: number;
  readonly numClasses: number;

  /** `paths` are relative to `root`, with forward slashes. */
  constructor(
    readonly dataset: string,
    readonly name: SplitName,
    readonly root: string,
    private readonly paths: readonly string[],
    readonly labels: Int32Array,
    readonly classNames: readonly string[],
  ) {
    if (paths.length !== labels.length) throw new Error('internal: paths and labels differ in length');
    this.size = paths.length;
    this.numClasses = countDistinct(labels);
  }

  image(index: number): ImageSource {
    const rel = this.describe(index);
    return { kind: 'file', path: path.join(this.root, rel), name: rel };
  }

  describe(index: number): string {
    const rel = this.paths[index];
    if (rel === undefined) throw new RangeError(`${this.dataset} ${this.name}: no image ${index} (size ${this.size})`);
    return rel;
  }
}

/** Equal-sized images held in one buffer, HWC with `channels` bytes per pixel. */
export class PixelSplit implements DataSplit {
  readonly root = undefined;
  readonly size: number;
  readonly numClasses: number;
  private readonly imageBytes: number;

  constructor(
    readonly dataset: string,
    readonly name: SplitName,
    private readonly pixels: Uint8Array,
    readonly width: number,
    readonly height: number,
    readonly channels: number,
    readonly labels: Int32Array,
    readonly classNames: readonly string[],
  ) {
    this.imageBytes = width * height * channels;
    if (pixels.length !== this.imageBytes * labels.length) throw new Error('internal: pixel buffer size mismatch');
    this.size = labels.length;
    this.numClasses = countDistinct(labels);
  }

  image(index: number): ImageSource {
    const name = this.describe(index);
    const start = index * this.imageBytes;
    const data = this.pixels.subarray(start, start + this.imageBytes);
    return { kind: 'pixels', data, width: this.width, height: this.height, channels: this.channels, name };
  }

  describe(index: number): string {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new RangeError(`${this.dataset} ${this.name}: no image ${index} (size ${this.size})`);
    }
    return `${this.dataset}:${this.name}:${index}`;
  }
}

/** A view of some images of another split, in the order given. */
export class SubsetSplit implements DataSplit {
  readonly dataset: string;
  readonly name: SplitName;
  readonly root: string | undefined;
  readonly classNames: readonly string[];
  readonly size: number;
  readonly labels: Int32Array;
  readonly numClasses: number;

  constructor(
    private readonly base: DataSplit,
    private readonly indices: Int32Array,
  ) {
    this.dataset = base.dataset;
    this.name = base.name;
    this.root = base.root;
    this.classNames = base.classNames;
    this.size = indices.length;
    this.labels = new Int32Array(indices.length);
    indices.forEach((j, i) => (this.labels[i] = base.labels[j] ?? -1));
    this.numClasses = countDistinct(this.labels);
  }

  image(index: number): ImageSource {
    return this.base.image(this.baseIndex(index));
  }

  describe(index: number): string {
    return this.base.describe(this.baseIndex(index));
  }

  private baseIndex(index: number): number {
    const j = this.indices[index];
    if (j === undefined) throw new RangeError(`${this.dataset} ${this.name}: no image ${index} (size ${this.size})`);
    return j;
  }
}
