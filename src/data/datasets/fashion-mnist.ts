// Fashion-MNIST from its four official IDX files (Zalando's release: 60,000 training and 10,000
// test images of 28x28 grey pixels, ten classes), as Debian's `dataset-fashion-mnist` package
// installs them, or from any folder holding the same files (gzipped or not).
// - `fashion-mnist-all`: the adversarial-ranking literature's split (RobRank): the official
//   training file trains, the official test file tests; image i of the test split is image i of
//   t10k-images.
// - `fashion-mnist`: the zero-shot protocol of DML: all 70,000 images (training file, then test
//   file), classes 0-4 train and 5-9 test, each split in file order.
import path from 'node:path';
import { DataError } from '../errors.js';
import { isFile } from '../files.js';
import { readIdxFile, type IdxArray } from '../idx.js';
import { PixelSplit } from '../split.js';
import type { Dataset, DataSplit, SplitName } from '../types.js';
import { trainTestDataset } from './dataset.js';

export type FashionName = 'fashion-mnist' | 'fashion-mnist-all';

/** Where Debian's `dataset-fashion-mnist` package puts the files. */
export const FASHION_MNIST_DEFAULT_ROOT = '/usr/share/datasets/fashion-mnist';

export const FASHION_MNIST_FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'] as const;

export const FASHION_CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const SIDE = 28;
const IMAGE_BYTES = SIDE * SIDE;

/** Each file as found under `root`: the gzipped name first, then the plain one; a clear error when one is missing. */
export async function findFashionFiles(name: FashionName, root: string): Promise<string[]> {
  const found: string[] = [];
  for (const base of FASHION_MNIST_FILES) {
    const candidates = [path.join(root, `${base}.gz`), path.join(root, base)];
    let file: string | undefined;
    for (const candidate of candidates) if (await isFile(candidate)) file = file ?? candidate;
    if (file === undefined) {
      throw new DataError(
        `${name}: the official Fashion-MNIST file ${base}.gz (or ${base}) is not in ${root}. ` +
          `Install Debian's package (apt-get install dataset-fashion-mnist; it puts the four files in ${FASHION_MNIST_DEFAULT_ROOT}), ` +
          'or download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz ' +
          'from github.com/zalandoresearch/fashion-mnist (data/fashion) into one folder and give it as the data root',
        candidates[0]!,
      );
    }
    found.push(file);
  }
  return found;
}

interface Labelled {
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  readonly count: number;
}

function checkPair(images: IdxArray, labels: IdxArray, imageFile: string, labelFile: string): Labelled {
  const [count, height, width] = images.shape;
  if (images.shape.length !== 3 || height !== SIDE || width !== SIDE) {
    throw new DataError(`${imageFile}: expected images of shape [n, 28, 28], got [${images.shape.join(', ')}]`, imageFile);
  }
  if (labels.shape.length !== 1 || labels.shape[0] !== count) {
    throw new DataError(`${labelFile}: expected ${count} labels (one per image of ${path.basename(imageFile)}), got shape [${labels.shape.join(', ')}]`, labelFile);
  }
  const bad = labels.data.findIndex((label) => label >= FASHION_CLASS_NAMES.length);
  if (bad >= 0) throw new DataError(`${labelFile}: label ${labels.data[bad]} of image ${bad} is not a class 0-9`, labelFile);
  return { images: images.data, labels: labels.data, count: count ?? 0 };
}

export async function openFashionMnist(name: FashionName, rootArg: string | undefined): Promise<Dataset> {
  const root = path.resolve(rootArg ?? FASHION_MNIST_DEFAULT_ROOT);
  const files = await findFashionFiles(name, root);
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(files.map(readIdxFile));
  const official = {
    train: checkPair(trainImages!, trainLabels!, files[0]!, files[1]!),
    test: checkPair(testImages!, testLabels!, files[2]!, files[3]!),
  };
  const dataset =
    name === 'fashion-mnist-all'
      ? trainTestDataset(name, root, pick(name, 'train', [official.train], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), pick(name, 'test', [official.test], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]))
      : trainTestDataset(name, root, pick(name, 'train', [official.train, official.test], [0, 1, 2, 3, 4]), pick(name, 'test', [official.train, official.test], [5, 6, 7, 8, 9]));
  return { ...dataset, files };
}

/** The images of the given original classes from `sources`, in order, relabelled 0..k-1 in the order of `classes`. */
function pick(name: FashionName, split: SplitName, sources: readonly Labelled[], classes: readonly number[]): DataSplit {
  const labelOf = new Int32Array(FASHION_CLASS_NAMES.length).fill(-1);
  classes.forEach((k, i) => (labelOf[k] = i));
  let total = 0;
  for (const s of sources) for (const label of s.labels) if (labelOf[label]! >= 0) total++;
  const pixels = new Uint8Array(total * IMAGE_BYTES);
  const labels = new Int32Array(total);
  let at = 0;
  for (const s of sources) {
    for (let i = 0; i < s.count; i++) {
      const label = labelOf[s.labels[i]!]!;
      if (label < 0) continue;
      pixels.set(s.images.subarray(i * IMAGE_BYTES, (i + 1) * IMAGE_BYTES), at * IMAGE_BYTES);
      labels[at++] = label;
    }
  }
  const names = classes.map((k) => FASHION_CLASS_NAMES[k]!);
  return new PixelSplit(name, split, pixels, SIDE, SIDE, 1, labels, names);
}
