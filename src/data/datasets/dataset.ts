// Assembling a Dataset from its splits, and the splitting rule most datasets share: images are
// assigned to train or test by their class, and labelled 0..k-1 within the split.
import { limitSplit } from '../limit.js';
import { FileSplit, labelsFor } from '../split.js';
import type { Dataset, DataSplit, SplitName } from '../types.js';

/** A dataset evaluated on its test split, every test image a query against all the others. */
export function trainTestDataset(name: string, root: string | undefined, train: DataSplit, test: DataSplit): Dataset {
  return {
    name,
    root,
    splits: new Map<SplitName, DataSplit>([['train', train], ['test', test]]),
    train,
    evaluation: { query: test, gallery: test, sameSet: true },
  };
}

/** A dataset whose queries search a separate gallery (In-Shop). */
export function queryGalleryDataset(
  name: string,
  root: string | undefined,
  train: DataSplit,
  query: DataSplit,
  gallery: DataSplit,
): Dataset {
  return {
    name,
    root,
    splits: new Map<SplitName, DataSplit>([['train', train], ['query', query], ['gallery', gallery]]),
    train,
    evaluation: { query, gallery, sameSet: false },
  };
}

/** The same dataset with every split cut to at most `limit` images (see limitSplit). */
export function limitDataset(dataset: Dataset, limit: number | undefined): Dataset {
  if (limit === undefined) return dataset;
  const train = limitSplit(dataset.train, limit);
  if (dataset.evaluation.sameSet) {
    const test = limitSplit(dataset.evaluation.query, limit);
    return trainTestDataset(dataset.name, dataset.root, train, test);
  }
  const query = limitSplit(dataset.evaluation.query, limit);
  const gallery = limitSplit(dataset.evaluation.gallery, limit);
  return queryGalleryDataset(dataset.name, dataset.root, train, query, gallery);
}

/** An image listed by an index: its path relative to the root and its numeric class id. */
export interface IndexedImage {
  readonly path: string;
  readonly classId: number;
}

/** A split of the given images, labelled by class id order; names come from `classNames` when known. */
export function splitOfImages(
  dataset: string,
  split: SplitName,
  root: string,
  images: readonly IndexedImage[],
  classNames: ReadonlyMap<number, string>,
): FileSplit {
  const ids = [...new Set(images.map((im) => im.classId))].sort((a, b) => a - b);
  const keys = images.map((im) => String(im.classId));
  const labels = labelsFor(keys, ids.map(String));
  const names = ids.map((id) => classNames.get(id) ?? String(id));
  return new FileSplit(dataset, split, root, images.map((im) => im.path), labels, names);
}

/** Train and test splits by class id: ids up to `lastTrainClass` train, the rest test. */
export function splitByClassId(
  dataset: string,
  root: string,
  images: readonly IndexedImage[],
  classNames: ReadonlyMap<number, string>,
  lastTrainClass: number,
): Dataset {
  const train = splitOfImages(dataset, 'train', root, images.filter((im) => im.classId <= lastTrainClass), classNames);
  const test = splitOfImages(dataset, 'test', root, images.filter((im) => im.classId > lastTrainClass), classNames);
  return trainTestDataset(dataset, root, train, test);
}
