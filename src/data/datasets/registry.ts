// Opening a dataset by name, through its entry in the table (descriptors.ts).
import type { Dataset } from '../types.js';
import { limitDataset } from './dataset.js';
import { DATASET_NAMES, DATASETS, type DatasetName, type OpenDatasetOptions } from './descriptors.js';

export function isDatasetName(name: string): name is DatasetName {
  return (DATASET_NAMES as readonly string[]).includes(name);
}

export async function openDataset(name: DatasetName, options: OpenDatasetOptions = {}): Promise<Dataset> {
  return limitDataset(await DATASETS[name].open(options), options.limit);
}
