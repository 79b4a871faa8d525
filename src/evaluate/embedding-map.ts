// 2-D maps of embeddings for reports: a seeded subsample (stratified by class or uniform) laid out
// with UMAP (umap-js). Both the subsample and UMAP's own randomness come from the project's
// generator, so the same seed gives the same map.
import { UMAP } from 'umap-js';
import { Random } from '../data/random.js';

export interface EmbeddingMapInput {
  /** Row-major [n, dim] embeddings (e.g. the data of a float32 tensor). */
  embeddings: ArrayLike<number>;
  dim: number;
  /** One class label per row (int64 tensors give bigints; both are accepted). */
  labels: ArrayLike<number> | ArrayLike<bigint>;
}

export interface EmbeddingMapOptions {
  seed: number;
  /** At most this many points are mapped; 2000 by default. */
  maxPoints?: number;
  /** 'stratified' (default) keeps each class's share of the points; 'uniform' draws rows at random. */
  sampling?: 'stratified' | 'uniform';
  /** UMAP neighbourhood size (15 by default, capped at points - 1). */
  nNeighbors?: number;
  minDist?: number;
  /** UMAP optimisation epochs; umap-js chooses from the data size when left out. */
  nEpochs?: number;
}

export interface MapPoint {
  x: number;
  y: number;
  label: number;
  /** Row of the point in the input. */
  index: number;
}

/**
 * Rows to keep, ascending. Stratified sampling allots each class its share of `maxPoints` by
 * largest remainders (so the total is exact) and draws that many of its rows at random.
 */
export function subsampleIndices(labels: readonly number[], maxPoints: number, sampling: 'stratified' | 'uniform', rng: Random): Int32Array {
  const n = labels.length;
  if (!Number.isInteger(maxPoints) || maxPoints < 1) throw new RangeError(`embedding map: maxPoints must be a positive integer, got ${maxPoints}`);
  if (n <= maxPoints) return Int32Array.from({ length: n }, (_, i) => i);
  if (sampling === 'uniform') return rng.permutation(n).slice(0, maxPoints).sort();
  const byClass = new Map<number, number[]>();
  labels.forEach((label, i) => (byClass.get(label) ?? byClass.set(label, []).get(label)!).push(i));
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const shares = classes.map((c) => (byClass.get(c)!.length * maxPoints) / n);
  const take = shares.map(Math.floor);
  let left = maxPoints - take.reduce((a, b) => a + b, 0);
  const byRemainder = classes.map((_, k) => k).sort((a, b) => shares[b]! - take[b]! - (shares[a]! - take[a]!) || a - b);
  for (const k of byRemainder) if (left-- > 0) take[k]!++;
  const kept: number[] = [];
  classes.forEach((c, k) => {
    const rows = rng.shuffle(byClass.get(c)!.slice());
    kept.push(...rows.slice(0, take[k]));
  });
  return Int32Array.from(kept).sort();
}

/** Lays out (a seeded subsample of) the embeddings in 2-D with UMAP; one point per kept row. */
export function embeddingMap(input: EmbeddingMapInput, options: EmbeddingMapOptions): MapPoint[] {
  const { embeddings, dim } = input;
  const { seed } = options;
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`embedding map: dim must be a positive integer, got ${dim}`);
  const n = input.labels.length;
  if (embeddings.length !== n * dim) throw new RangeError(`embedding map: ${embeddings.length} values are not ${n} labels x ${dim} dims`);
  if (n < 3) throw new RangeError(`embedding map: needs at least 3 points, got ${n}`);
  const labels = Array.from(input.labels as ArrayLike<number | bigint>, Number);
  const rows = subsampleIndices(labels, options.maxPoints ?? 2000, options.sampling ?? 'stratified', new Random(seed, 'embedding-map', 'subsample'));
  const data = Array.from(rows, (r) => Array.from({ length: dim }, (_, j) => embeddings[r * dim + j]!));
  const rng = new Random(seed, 'embedding-map', 'umap');
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: Math.min(options.nNeighbors ?? 15, rows.length - 1),
    minDist: options.minDist ?? 0.1,
    ...(options.nEpochs === undefined ? {} : { nEpochs: options.nEpochs }),
    random: () => rng.next(),
  });
  const layout = umap.fit(data);
  return layout.map(([x, y], k) => ({ x: x!, y: y!, label: labels[rows[k]!]!, index: rows[k]! }));
}
