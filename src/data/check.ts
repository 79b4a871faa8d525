// `data check`: decode every image of every split and count classes and images per split.
import { ImageDecodeError, reasonOf } from './errors.js';
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

export interface CheckReport {
  readonly dataset: string;
  readonly splits: Readonly<Partial<Record<SplitName, SplitCount>>>;
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

export async function checkDataset(dataset: Dataset, options: CheckOptions = {}): Promise<CheckReport> {
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
  return { dataset: dataset.name, splits, unreadable };
}
