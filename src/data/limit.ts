// The `limit` option: a smaller split for quick runs. Images are taken class by class in turn
// (the first image of every class, then the second, ...) so that a small limit still keeps many
// classes with several images each, which metric learning needs; the result is deterministic.
import { SubsetSplit } from './split.js';
import type { Dataset, DataSplit } from './types.js';

export function limitSplit(split: DataSplit, limit: number | undefined): DataSplit {
  if (limit === undefined || limit >= split.size) return split;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  const byClass = new Map<number, number[]>();
  split.labels.forEach((label, i) => {
    const list = byClass.get(label);
    if (list) list.push(i);
    else byClass.set(label, [i]);
  });
  const queues = [...byClass.keys()].sort((a, b) => a - b).map((label) => byClass.get(label) ?? []);
  const chosen: number[] = [];
  for (let round = 0; chosen.length < limit; round++) {
    for (const queue of queues) {
      const index = queue[round];
      if (index !== undefined) chosen.push(index);
      if (chosen.length === limit) break;
    }
  }
  chosen.sort((a, b) => a - b);
  return new SubsetSplit(split, Int32Array.from(chosen));
}

/** The split without the given images (e.g. ones that cannot be decoded). */
export function withoutImages(split: DataSplit, drop: ReadonlySet<number>): DataSplit {
  if (drop.size === 0) return split;
  return new SubsetSplit(split, Int32Array.from({ length: split.size }, (_, i) => i).filter((i) => !drop.has(i)));
}

/** A dataset's evaluation protocol cut to `limit` images per split (same-set: the one split). */
export function limitEvaluation(evaluation: Dataset['evaluation'], limit: number | undefined): Dataset['evaluation'] {
  const query = limitSplit(evaluation.query, limit);
  return { query, gallery: evaluation.sameSet ? query : limitSplit(evaluation.gallery, limit), sameSet: evaluation.sameSet };
}
