// `data check`: decode every image of every split and count classes and images per split, and
// fingerprint the data files a dataset was read from, so anyone can confirm which images a number
// came from.
import { createHash } from 'node:crypto';
import { gunzipCapped, MAX_DATA_FILE_BYTES, MAX_INFLATED_BYTES, readFileCapped, type ReadFailure } from './capped-read.js';
import { DataError, ImageDecodeError, reasonOf } from './errors.js';
import { decodeFully } from './image-io.js';
import type { Dataset, DataSplit, SplitName } from './types.js';

export interface SplitCount {
  readonly classes: number;
  readonly images: number;
}

export interface UnreadableImage {
  /** Relative to the dataset root. */
  readonly path: string;
  readonly reason: string;
}

/** One data file: its SHA-256, and for a gzip file also that of the bytes it holds. */
export interface FileFingerprint {
  readonly path: string;
  readonly sha256: string;
  /** SHA-256 of the decompressed content (gzip files only): equal for the same data compressed differently. */
  readonly content_sha256?: string;
}

export interface CheckReport {
  readonly dataset: string;
  readonly splits: Readonly<Partial<Record<SplitName, SplitCount>>>;
  /** The data files read (Dataset.files), in order; empty for image folders, whose images are the files. */
  readonly files: readonly FileFingerprint[];
  /** In split order, then index order; each path once. */
  readonly unreadable: readonly UnreadableImage[];
}

export interface CheckOptions {
  /** Images decoded at once (default 4; libvips works on libuv's thread pool; each may take up to MAX_IMAGE_PIXELS x 4 bytes). */
  readonly concurrency?: number;
  /** Called after each image. */
  readonly onImage?: () => void;
}

export function imageCount(dataset: Dataset): number {
  let total = 0;
  for (const split of dataset.splits.values()) total += split.size;
  return total;
}

/** Decodes every image of a split; the ones that fail, by index. */
export async function unreadableImages(split: DataSplit, options: CheckOptions = {}): Promise<Map<number, UnreadableImage>> {
  const failures = new Map<number, UnreadableImage>();
  let nextIndex = 0;
  const worker = async (): Promise<void> => {
    while (nextIndex < split.size) {
      const index = nextIndex++;
      try {
        await decodeFully(split.image(index));
      } catch (err) {
        if (err instanceof ImageDecodeError) failures.set(index, { path: err.path, reason: err.reason });
        else failures.set(index, { path: split.describe(index), reason: reasonOf(err) });
      }
      options.onImage?.();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  return failures;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export async function fingerprint(file: string): Promise<FileFingerprint> {
  const fail = ({ reason }: ReadFailure) => new DataError(`${file}: ${reason}`, file);
  const bytes = await readFileCapped(file, MAX_DATA_FILE_BYTES, 'a data file', fail);
  if (!file.endsWith('.gz')) return { path: file, sha256: sha256(bytes) };
  return { path: file, sha256: sha256(bytes), content_sha256: sha256(await gunzipCapped(bytes, MAX_INFLATED_BYTES, fail)) };
}

export async function checkDataset(dataset: Dataset, options: CheckOptions = {}): Promise<CheckReport> {
  const files = await Promise.all((dataset.files ?? []).map(fingerprint));
  const splits: Partial<Record<SplitName, SplitCount>> = {};
  const unreadable: UnreadableImage[] = [];
  const seen = new Set<string>();
  for (const [name, split] of dataset.splits) {
    splits[name] = { classes: split.numClasses, images: split.size };
    const failures = await unreadableImages(split, options);
    for (const index of [...failures.keys()].sort((a, b) => a - b)) {
      const failure = failures.get(index) as UnreadableImage;
      if (!seen.has(failure.path)) unreadable.push(failure);
      seen.add(failure.path);
    }
  }
  return { dataset: dataset.name, splits, files, unreadable };
}
