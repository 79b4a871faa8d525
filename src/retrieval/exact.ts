// Exact search on libtorch: the gallery stays one float32 tensor [N, D] of L2-normalised rows;
// queries are scored against it a chunk of rows at a time (a matrix product, then top-k of each
// chunk), and the chunks' candidates are merged with one more top-k. Chunking bounds the score
// matrix at queries x chunkRows whatever the gallery's size.
import { cat, noGrad, tensor, tidy, type Tensor } from '../torch/index.js';

/** Ids and cosine scores of each query's k best rows, best first: row-major [queries, k]. */
export interface RankedRows {
  ids: Int32Array;
  scores: Float32Array;
  /** Results per query: k, or the gallery's size when that is smaller. */
  k: number;
}

export const EXACT_CHUNK_ROWS = 65_536;

export class ExactSearch {
  private gallery: Tensor;

  constructor(
    rows: Float32Array,
    readonly dim: number,
    private readonly chunkRows = EXACT_CHUNK_ROWS,
  ) {
    this.gallery = tensor(rows, [rows.length / dim, dim]);
  }

  get size(): number {
    return this.gallery.size(0);
  }

  /** Appends rows (the ids continue from the current size). */
  append(rows: Float32Array): void {
    const added = tidy(() => cat([this.gallery, tensor(rows, [rows.length / this.dim, this.dim])]));
    this.gallery.dispose();
    this.gallery = added;
  }

  /** `queries` row-major [m, dim]. */
  search(queries: Float32Array, k: number): RankedRows {
    const m = queries.length / this.dim;
    const n = this.size;
    const kk = Math.min(k, n);
    if (m === 0 || kk === 0) return { ids: new Int32Array(0), scores: new Float32Array(0), k: kk };
    return tidy(() =>
      noGrad(() => {
        const q = tensor(queries, [m, this.dim]);
        const values: Tensor[] = [];
        const indices: Tensor[] = [];
        for (let start = 0; start < n; start += this.chunkRows) {
          const rows = Math.min(this.chunkRows, n - start);
          const scores = q.mm(this.gallery.narrow(0, start, rows).t());
          const best = scores.topk(Math.min(kk, rows), 1);
          values.push(best.values);
          indices.push(start === 0 ? best.indices : best.indices.add(start));
        }
        const allValues = values.length === 1 ? values[0]! : cat(values, 1);
        const allIndices = indices.length === 1 ? indices[0]! : cat(indices, 1);
        const top = allValues.topk(kk, 1);
        const ids = allIndices.gather(1, top.indices);
        return { ids: Int32Array.from(ids.toNumbers()), scores: top.values.toFloat32Array(), k: kk };
      }),
    );
  }

  dispose(): void {
    this.gallery.dispose();
  }
}
