// The approximate index: an HNSW graph from usearch over the L2-normalised rows, with the inner
// product as its metric (so 1 - distance is the cosine). usearch was chosen over hnswlib-node by
// measurement (README, "Libraries chosen"): it ships prebuilt binaries, adds a whole batch from a
// Float32Array on several threads, and searches a batch of queries in one call.
import { renameSync } from 'node:fs';
import usearch from 'usearch';
import type { RankedRows } from './exact.js';

export interface HnswParameters {
  /** Edges per node (HNSW's M). */
  connectivity: number;
  /** Candidate list while inserting (efConstruction). */
  expansionAdd: number;
  /** Candidate list while searching (ef); must be at least k for k results. */
  expansionSearch: number;
}

export const HNSW_DEFAULTS: HnswParameters = { connectivity: 16, expansionAdd: 128, expansionSearch: 64 };

export class HnswGraph {
  private readonly index: InstanceType<typeof usearch.Index>;

  constructor(
    readonly dim: number,
    readonly parameters: HnswParameters,
  ) {
    this.index = new usearch.Index({
      dimensions: dim,
      metric: usearch.MetricKind.IP,
      quantization: usearch.ScalarKind.F32,
      connectivity: parameters.connectivity,
      expansion_add: parameters.expansionAdd,
      expansion_search: parameters.expansionSearch,
      multi: false,
    });
  }

  static load(file: string, dim: number, parameters: HnswParameters): HnswGraph {
    const graph = new HnswGraph(dim, parameters);
    graph.index.load(file);
    return graph;
  }

  get size(): number {
    return this.index.size();
  }

  /** Adds rows [n, dim] as ids first, first + 1, ... on `threads` threads (0: all cores). */
  add(first: number, rows: Float32Array, threads = 0): void {
    const n = rows.length / this.dim;
    if (n === 0) return;
    const keys = new BigUint64Array(n);
    for (let i = 0; i < n; i++) keys[i] = BigInt(first + i);
    this.index.add(keys, rows, threads);
  }

  /** Writes the graph atomically. */
  save(file: string): void {
    const tmp = `${file}.tmp-${process.pid}`;
    this.index.save(tmp);
    renameSync(tmp, file);
  }

  /** `queries` row-major [m, dim]; at most k results each, padded with id -1 when fewer are found. */
  search(queries: Float32Array, k: number, threads = 1): RankedRows {
    const m = queries.length / this.dim;
    const kk = Math.min(k, this.size);
    const ids = new Int32Array(m * kk).fill(-1);
    const scores = new Float32Array(m * kk).fill(Number.NEGATIVE_INFINITY);
    if (m === 0 || kk === 0) return { ids, scores, k: kk };
    const found = this.index.search(queries, kk, threads);
    const counts = found instanceof usearch.BatchMatches ? Array.from(found.counts, Number) : [found.keys.length];
    for (let q = 0; q < m; q++) {
      for (let j = 0; j < Math.min(counts[q] ?? 0, kk); j++) {
        ids[q * kk + j] = Number(found.keys[q * kk + j]);
        scores[q * kk + j] = 1 - found.distances[q * kk + j]!;
      }
    }
    return { ids, scores, k: kk };
  }
}
