// k nearest neighbours by Euclidean distance on L2-normalised embeddings, in chunks.
import { F, noGrad, tidy, type Tensor } from '../../torch/index.js';
import { chunkRows, metricFloat, similarityBlock } from './chunks.js';
import { fixedRows } from './inner-products.js';

export interface NeighbourOptions {
  /** Search here; absent: queries search among themselves, each excluding itself. */
  gallery?: Tensor;
  k: number;
  /** Query rows per block (default: from memoryBudgetBytes). */
  chunkSize?: number;
  memoryBudgetBytes?: number;
}

export interface Neighbours {
  k: number;
  /** Row-major [Nq, k] gallery indices, nearest first. */
  indices: Int32Array;
  /** Row-major [Nq, k] Euclidean distances. */
  distances: Float32Array;
}

export function nearestNeighbours(queries: Tensor, options: NeighbourOptions): Neighbours {
  return noGrad(() => tidy(() => {
    const self = options.gallery === undefined;
    const q = F.l2Normalize(metricFloat(queries.detach()), 1);
    const g = self ? q : F.l2Normalize(metricFloat(options.gallery!.detach()), 1);
    const gallery = fixedRows(g);
    const candidates = g.size(0) - (self ? 1 : 0);
    const k = Math.min(options.k, candidates);
    if (k < 1) throw new RangeError(`nearestNeighbours: k must be at least 1 and the gallery non-empty (k ${options.k}, candidates ${candidates})`);
    const rows = options.chunkSize ?? chunkRows(g.size(0), options.memoryBudgetBytes);
    const n = q.size(0);
    const indices = new Int32Array(n * k);
    const distances = new Float32Array(n * k);
    for (let start = 0; start < n; start += rows) {
      const count = Math.min(rows, n - start);
      tidy(() => {
        const top = similarityBlock(q, gallery, start, count, self).topk(k, 1, true, true);
        indices.set(Int32Array.from(top.indices.toNumbers()), start * k);
        const d = top.values.mul(-2).add(2).clampMin(0).sqrt();
        distances.set(d.toFloat32Array(), start * k);
      });
    }
    return { k, indices, distances };
  }));
}
