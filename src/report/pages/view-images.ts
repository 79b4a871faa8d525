// The test images a views.json names by index, as small thumbnails: the dataset is opened as the
// run opened it (its root, its limitTest), so an index means the same image it meant in training.
// Embedded 28x28 images are enlarged with nearest-neighbour; image files are shrunk to fit.
import sharp from 'sharp';
import { limitEvaluation, openDataset, type DataSplit, type ImageSource } from '../../data/index.js';
import type { TrainConfig, ViewsFile } from '../../formats/index.js';
import type { PixelImage } from './gallery.js';

/** Thumbnails for one views.json: query and gallery images by index, and the class names. */
export interface ViewImages {
  query(index: number): Promise<PixelImage>;
  gallery(index: number): Promise<PixelImage>;
  className(label: number): string;
}

/** The settings of a run that decide which image an index names. */
export type ImageSettings = Pick<TrainConfig, 'dataset' | 'dataRoot' | 'limitTest'>;

/** Longer side of a thumbnail in pixels. */
export const THUMBNAIL_SIZE = 84;

async function thumbnail(source: ImageSource, size: number): Promise<PixelImage> {
  const image =
    source.kind === 'pixels'
      ? sharp(source.data, { raw: { width: source.width, height: source.height, channels: source.channels as 1 | 3 } }).resize({
          width: source.width * Math.max(1, Math.floor(size / Math.max(source.width, source.height))),
          kernel: 'nearest',
        })
      : sharp(source.path).flatten({ background: '#ffffff' }).toColourspace('srgb').resize(size, size, { fit: 'inside' });
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 1 && info.channels !== 3) throw new Error(`${source.name}: ${info.channels} channels, expected 1 or 3`);
  return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: info.channels };
}

function splitNamed(splits: readonly DataSplit[], name: string, what: string): DataSplit {
  const split = splits.find((s) => s.name === name);
  if (!split) throw new Error(`views.json: ${what} split '${name}' is not one of the dataset's evaluation splits (${splits.map((s) => s.name).join(', ')})`);
  return split;
}

function cached(split: DataSplit, size: number): (index: number) => Promise<PixelImage> {
  const cache = new Map<number, Promise<PixelImage>>();
  return (index) => {
    if (!Number.isInteger(index) || index < 0 || index >= split.size) {
      return Promise.reject(new RangeError(`views.json: image ${index} is outside the ${split.name} split (${split.size} images)`));
    }
    let p = cache.get(index);
    if (!p) cache.set(index, (p = thumbnail(split.image(index), size)));
    return p;
  };
}

/** Opens the run's dataset (embedded datasets need no root) and serves the images views.json names. */
export async function openViewImages(settings: ImageSettings, views: Pick<ViewsFile, 'query_split' | 'gallery_split'>, size = THUMBNAIL_SIZE): Promise<ViewImages> {
  const dataset = await openDataset(settings.dataset, settings.dataRoot === null ? {} : { root: settings.dataRoot });
  const evaluation = limitEvaluation(dataset.evaluation, settings.limitTest ?? undefined);
  const splits = [evaluation.query, evaluation.gallery];
  const query = splitNamed(splits, views.query_split, 'query');
  const gallery = splitNamed(splits, views.gallery_split, 'gallery');
  const names = query.classNames;
  const queryImages = cached(query, size);
  return {
    query: queryImages,
    gallery: query === gallery ? queryImages : cached(gallery, size),
    className: (label) => names[label] ?? String(label),
  };
}
