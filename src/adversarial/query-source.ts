// The data side of a robustness evaluation: the clean gallery's embeddings and the query images,
// read through the data layer's loader with the evaluation transform.
import { evaluationLoader, Random, SubsetSplit, type DataSplit, type Transform } from '../data/index.js';
import type { ImageBatch, QuerySource } from './robustness.js';

/**
 * Which images of a split are queries: all of them, or a seeded random subset of `limit` (the same
 * subset for the same seed, in split order), so clean and attacked numbers share their queries.
 */
export function queryIndices(size: number, limit: number | undefined, seed: number): Int32Array {
  if (limit === undefined || limit >= size) return Int32Array.from({ length: size }, (_, i) => i);
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`query limit must be a positive integer, got ${limit}`);
  const chosen = new Random(seed, 'eval-queries').permutation(size).subarray(0, limit);
  return Int32Array.from(chosen).sort();
}

export interface SplitQueryOptions {
  /** The query images: indices into `split`. */
  indices: Int32Array;
  /** Whether the gallery is `split` itself (then query i's clean copy is gallery row indices[i]). */
  galleryIsSplit: boolean;
  transform: Transform;
  batchSize: number;
}

export function splitQuerySource(split: DataSplit, options: SplitQueryOptions): QuerySource {
  const { indices } = options;
  const subset = new SubsetSplit(split, indices);
  return {
    size: indices.length,
    labels: subset.labels,
    ids: indices,
    ownRows: options.galleryIsSplit ? indices : new Int32Array(indices.length).fill(-1),
    async *batches(): AsyncIterable<ImageBatch> {
      const loader = evaluationLoader(subset, { batchSize: options.batchSize, transform: options.transform });
      for await (const batch of loader.epoch()) yield { images: batch.images, shape: batch.shape, positions: batch.indices };
    },
  };
}
