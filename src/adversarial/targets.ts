// Seeded choices of what each attacked query is steered by. Every query draws from its own stream
// (seed, purpose, query id), so its targets do not depend on batching, on the order of attacks or
// on eps: the same query meets the same targets at every budget.
import { Random } from '../data/index.js';
import type { CleanGallery } from './gallery.js';

/**
 * For STAX (count 1) and MTAX (count T): gallery rows of test images of another class than the
 * query's, each drawn uniformly among all such rows. Row-major [queries, count].
 */
export function otherClassTargets(gallery: CleanGallery, labels: Int32Array, ids: Int32Array, count: number, seed: number): Int32Array {
  const out = new Int32Array(labels.length * count);
  labels.forEach((label, i) => {
    const others = gallery.size - gallery.rowsOfClass(label).length;
    if (others === 0) throw new RangeError(`targeted attack: the gallery has no image of a class other than ${label}`);
    const rng = new Random(seed, 'targets', ids[i]!);
    for (let j = 0; j < count; j++) {
      let row: number;
      do row = rng.int(gallery.size);
      while (gallery.labels[row] === label);
      out[i * count + j] = row;
    }
  });
  return out;
}

/** `count` gallery rows drawn uniformly, never the query's own copy (CA+ queries, QA+ candidates). */
export function randomRows(gallery: CleanGallery, ownRows: Int32Array, ids: Int32Array, count: number, seed: number, purpose: string): Int32Array {
  const out = new Int32Array(ownRows.length * count);
  ownRows.forEach((own, i) => {
    const rng = new Random(seed, purpose, ids[i]!);
    for (let j = 0; j < count; j++) {
      let row: number;
      do row = rng.int(gallery.size);
      while (row === own);
      out[i * count + j] = row;
    }
  });
  return out;
}

/**
 * `count` rows drawn from each query's top `fraction` of the gallery ranking (its own copy
 * excluded), without repeats while the pool lasts (CA- queries, QA- candidates). `nearest` is the
 * row-major [queries, pool] list of nearest rows, nearest first.
 */
export function rowsFromTop(nearest: Int32Array, pool: number, ids: Int32Array, count: number, seed: number, purpose: string): Int32Array {
  const queries = ids.length;
  const out = new Int32Array(queries * count);
  for (let i = 0; i < queries; i++) {
    const rng = new Random(seed, purpose, ids[i]!);
    const order = rng.permutation(pool);
    for (let j = 0; j < count; j++) out[i * count + j] = nearest[i * pool + order[j % pool]!]!;
  }
  return out;
}

/** Rows in a query's top `fraction` of a gallery of `size` (at least one; RobRank uses 1%). */
export function topPoolSize(size: number, fraction: number): number {
  return Math.max(1, Math.min(size - 1, Math.floor(size * fraction)));
}
