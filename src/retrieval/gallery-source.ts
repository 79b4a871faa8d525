// The images of an index source as a split: a folder (labels from top-level subfolders) or a
// dataset split (labels from its classes). Gives each item its record (path or index, label,
// content hash) and its image's bytes for display.
import { resolve } from 'node:path';
import sharp from 'sharp';
import { checkImageBytes, imageFolderSplit, imagePipeline, isDatasetName, openDataset, readImageFile, type DataSplit, type ImageSource } from '../data/index.js';
import type { IndexItem, IndexSource } from '../formats/index.js';
import { IndexError } from './errors.js';
import { hashBytes } from './model-ref.js';

export interface GallerySource {
  readonly source: IndexSource;
  readonly split: DataSplit;
  /** The record of image `i` of the split, as item `id` of source number `sourceNumber`. */
  item(i: number, id: number, sourceNumber: number): Promise<IndexItem>;
  /** The record without its content hash (cheap: for planning). */
  key(i: number): string;
  /** The image's encoded bytes and media type, for showing it. */
  image(i: number): Promise<{ bytes: Buffer; contentType: string }>;
  /** The split index of an item's path or dataset index; -1 when it is not there any more. */
  find(place: { path?: string; index?: number }): number;
}

/** Opens a source as given on the command line: `images` a folder, or a dataset and split. */
export async function openGallerySource(source: IndexSource): Promise<GallerySource> {
  if (source.kind === 'images') {
    const root = resolve(source.root);
    const split = await imageFolderSplit(root);
    const byPath = new Map(split.paths.map((p, i) => [p, i]));
    return wrap({ kind: 'images', root }, split, (i) => ({ path: split.paths[i]! }), (place) => byPath.get(place.path ?? '') ?? -1);
  }
  if (!isDatasetName(source.dataset)) throw new IndexError(`unknown dataset '${source.dataset}'`);
  const dataset = await openDataset(source.dataset, { root: source.root });
  const split = dataset.splits.get(source.split as never);
  if (!split) throw new IndexError(`${source.dataset} has no '${source.split}' split (it has ${[...dataset.splits.keys()].join(', ')})`);
  const find = (place: { index?: number }) => (place.index !== undefined && place.index < split.size ? place.index : -1);
  return wrap({ ...source, ...(source.root === undefined ? {} : { root: resolve(source.root) }) }, split, (i) => ({ index: i }), find);
}

function wrap(
  source: IndexSource,
  split: DataSplit,
  place: (i: number) => { path: string } | { index: number },
  find: (place: { path?: string; index?: number }) => number,
): GallerySource {
  const labelOf = (i: number): string | undefined => {
    const name = split.classNames[split.labels[i] ?? -1];
    return name === undefined || name === '' ? undefined : name;
  };
  return {
    source,
    split,
    key: (i) => JSON.stringify([place(i), labelOf(i) ?? null]),
    async item(i, id, sourceNumber) {
      const label = labelOf(i);
      return { id, source: sourceNumber, ...place(i), ...(label === undefined ? {} : { label }), sha256: await contentHash(split.image(i)) };
    },
    image: (i) => encodedImage(split.image(i)),
    find,
  };
}

async function contentHash(image: ImageSource): Promise<string> {
  if (image.kind === 'pixels') {
    const head = Buffer.from(`${image.width}x${image.height}x${image.channels}:`);
    return hashBytes(Buffer.concat([head, image.data]));
  }
  return hashBytes(image.kind === 'bytes' ? image.bytes : (await readImageFile(image.path, image.name)).bytes);
}

const MEDIA_TYPES: Record<string, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif', avif: 'image/avif' };

async function encodedImage(image: ImageSource): Promise<{ bytes: Buffer; contentType: string }> {
  if (image.kind === 'pixels') {
    const bytes = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels as 1 | 3 } }).png().toBuffer();
    return { bytes, contentType: 'image/png' };
  }
  // Read and checked as every image file is (size cap, format by its first bytes, pixel limit).
  const checked = image.kind === 'bytes' ? await checkImageBytes(image.bytes, image.name) : await readImageFile(image.path, image.name);
  const contentType = MEDIA_TYPES[checked.format];
  // A gallery file in a format browsers do not show (TIFF) is sent as PNG.
  if (contentType === undefined) return { bytes: await imagePipeline(checked.bytes).png().toBuffer(), contentType: 'image/png' };
  return { bytes: checked.bytes, contentType };
}
