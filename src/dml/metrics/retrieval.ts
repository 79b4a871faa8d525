// Retrieval metrics from one pass over query-by-gallery similarities, block by block.
//
// For a query q with R relevant gallery items (same class, q itself excluded), let rank_i be the
// 1-based position of its i-th nearest relevant item in the full ranking. Then
//   Recall@K      = 1 if rank_1 <= K (some relevant item among the K nearest), else 0
//   mAP           = 1/R Σ_{i=1..R} i / rank_i                                 (whole ranking)
//   MAP@R         = 1/R Σ_{i: rank_i <= R} i / rank_i                          (Musgrave et al. 2020)
//   R-precision   = |{i: rank_i <= R}| / R
//   mAP_c         = 1/C Σ_{i: rank_i <= C} i / rank_i,  C = R + 1              (the MDProp authors' code)
// where C is the size of the query's class counting the query itself: the authors' mAP_c
// (metrics/mAP_c.py of their code) searches the C nearest other items and divides by C, so
// even a perfect ranking scores R / (R + 1). Not comparable with MAP@R; both are reported.
// Each is averaged over the queries that have R >= 1 (the others are skipped, and counted).
//
// rank_i = i + (irrelevant items more similar than that relevant item). The gallery is sorted by
// class, so a query's relevant items are one contiguous range of the block's row; one scan of the
// row, which skips everything less similar than the least similar relevant item, counts the
// irrelevant items above each relevant one. No 60,000-wide sort is needed. Ties between a relevant
// and an irrelevant item count in favour of the relevant one; apart from exact ties, Recall@K is
// what a top-K search (nearestNeighbours: matmul + topk) finds, without a top-1000 per query.
import { F, noGrad, tensor, tidy, type Tensor } from '../../torch/index.js';
import { indexFill_ } from '../ops.js';
import { chunkRows, metricFloat, similarityBlock } from './chunks.js';
import { fixedRows } from './inner-products.js';
import { orderByClass } from './labels.js';
import { recallKey, type MetricValues } from './values.js';

export interface RetrievalInput {
  /** [Nq, D] */
  queries: Tensor;
  /** Dense class ids of the queries. */
  queryIds: Int32Array;
  /** [Ng, D]; absent: queries against each other, self excluded. */
  gallery?: Tensor;
  galleryIds?: Int32Array;
  /**
   * With a separate gallery: per query, the gallery row it must not retrieve (its own clean copy,
   * when attacked queries search the clean test set), or -1 for none.
   */
  excludedGalleryRows?: Int32Array;
  ks: readonly number[];
  chunkSize?: number;
  memoryBudgetBytes?: number;
  /** Called after each block with the queries done so far. */
  onProgress?: (done: number, total: number) => void;
}

export interface RetrievalPass {
  /** map@r, map_c (the authors' mAP_c: window and denominator R + 1, see above), r_precision, map, then recall@K for each K given. */
  metrics: MetricValues;
  /** Queries that had at least one relevant item and entered the averages. */
  evaluatedQueries: number;
  skippedQueries: number;
}

interface ClassRanges {
  start: Int32Array;
  count: Int32Array;
}

function classRanges(sortedIds: Int32Array, classes: number): ClassRanges {
  const start = new Int32Array(classes).fill(-1);
  const count = new Int32Array(classes);
  sortedIds.forEach((id, i) => {
    if (start[id] === -1) start[id] = i;
    count[id]!++;
  });
  return { start, count };
}

function largest(values: Int32Array): number {
  let max = 0;
  for (const v of values) if (v > max) max = v;
  return max;
}

function int64(values: ArrayLike<number>, device: string | undefined): Tensor {
  return tensor(BigInt64Array.from(Array.from(values), (v) => BigInt(v)), [values.length], { dtype: 'int64', device });
}

export function retrievalScores(input: RetrievalInput): RetrievalPass {
  const self = input.gallery === undefined;
  if (!self && input.galleryIds === undefined) throw new TypeError('retrievalScores: gallery given without galleryIds');
  const ks = input.ks;
  if (ks.length === 0 || ks.some((k) => !Number.isInteger(k) || k < 1)) throw new RangeError(`retrieval: K values must be positive integers, got [${ks.join(', ')}]`);
  return noGrad(() =>
    tidy(() => {
      const classes = Math.max(largest(input.queryIds), largest(input.galleryIds ?? new Int32Array())) + 1;
      // Gallery sorted by class: each class is one contiguous range of columns.
      const galleryIdsRaw = self ? input.queryIds : input.galleryIds!;
      const order = orderByClass(galleryIdsRaw);
      const device = input.queries.device;
      const g = F.l2Normalize(metricFloat((self ? input.queries : input.gallery!).detach()), 1).indexSelect(0, int64(order, device));
      const galleryIds = Int32Array.from(order, (i) => galleryIdsRaw[i]!);
      // In self mode the queries are the sorted gallery itself, so query i's own column is i.
      const q = self ? g : F.l2Normalize(metricFloat(input.queries.detach()), 1);
      const queryIds = self ? galleryIds : input.queryIds;
      const gallery = fixedRows(g);
      const ranges = classRanges(galleryIds, classes);
      const ng = g.size(0);
      const nq = q.size(0);
      const excluded = excludedColumns(input, order, nq);
      const rows = input.chunkSize ?? chunkRows(ng, input.memoryBudgetBytes);

      const hitsAtK = new Float64Array(ks.length);
      const sums = { map: 0, mapAtR: 0, mapC: 0, rPrecision: 0 };
      let evaluated = 0;
      for (let start = 0; start < nq; start += rows) {
        const count = Math.min(rows, nq - start);
        const blockIds = queryIds.subarray(start, start + count);
        const blockExcluded = excluded?.subarray(start, start + count);
        tidy(() => {
          const block = similarityBlock(q, gallery, start, count, self);
          if (blockExcluded) maskColumns(block, blockExcluded);
          const values = block.data() as Float32Array | Float64Array;
          for (let i = 0; i < count; i++) {
            const id = blockIds[i]!;
            const skip = self ? start + i : (blockExcluded?.[i] ?? -1);
            const range = { first: ranges.start[id]!, count: ranges.count[id]!, skip };
            const scores = rankScores(values.subarray(i * ng, (i + 1) * ng), range);
            if (scores === null) continue;
            evaluated++;
            ks.forEach((k, j) => {
              if (scores.firstRank <= k) hitsAtK[j]!++;
            });
            sums.map += scores.map;
            sums.mapAtR += scores.mapAtR;
            sums.mapC += scores.mapC;
            sums.rPrecision += scores.rPrecision;
          }
        });
        input.onProgress?.(start + count, nq);
      }
      if (evaluated === 0) throw new RangeError('retrieval: no query has a relevant item (same class) among the gallery');
      const metrics: MetricValues = { 'map@r': sums.mapAtR / evaluated, map_c: sums.mapC / evaluated, r_precision: sums.rPrecision / evaluated, map: sums.map / evaluated };
      ks.forEach((k, j) => (metrics[recallKey(k)] = hitsAtK[j]! / evaluated));
      return {
        metrics,
        evaluatedQueries: evaluated,
        skippedQueries: nq - evaluated,
      };
    }),
  );
}

/** The sorted-gallery column each query must skip (-1: none), or null when nothing is excluded. */
function excludedColumns(input: RetrievalInput, order: Int32Array, nq: number): Int32Array | null {
  const rows = input.excludedGalleryRows;
  if (!rows) return null;
  if (input.gallery === undefined) throw new TypeError('retrievalScores: excludedGalleryRows needs a separate gallery');
  if (rows.length !== nq) throw new RangeError(`retrievalScores: ${rows.length} excluded gallery rows for ${nq} queries`);
  const columnOf = new Int32Array(order.length);
  order.forEach((row, column) => {
    columnOf[row] = column;
  });
  return Int32Array.from(rows, (row) => {
    if (row < 0) return -1;
    if (!Number.isInteger(row) || row >= order.length) throw new RangeError(`retrievalScores: excluded gallery row ${row} outside [0, ${order.length})`);
    return columnOf[row]!;
  });
}

/** Sets entry (i, columns[i]) of a [rows, Ng] block to -inf where columns[i] >= 0. */
function maskColumns(block: Tensor, columns: Int32Array): void {
  const width = block.size(1);
  const flat: number[] = [];
  columns.forEach((column, i) => {
    if (column >= 0) flat.push(i * width + column);
  });
  if (flat.length > 0) tidy(() => indexFill_(block.view([-1]), 0, int64(flat, block.device), -Infinity));
}

interface RelevantRange {
  /** First gallery column of the query's class, and how many columns it spans. */
  first: number;
  count: number;
  /** A column the query must not retrieve (itself in self mode, its clean copy), else -1. */
  skip: number;
}

interface QueryScores {
  /** Rank of the nearest relevant item. */
  firstRank: number;
  map: number;
  mapAtR: number;
  mapC: number;
  rPrecision: number;
}

/** AP over the whole ranking, AP@R and R-precision of one query from its row of similarities; null without relevant items. */
function rankScores(row: Float32Array | Float64Array, range: RelevantRange): QueryScores | null {
  const relevant: number[] = [];
  for (let c = range.first; c < range.first + range.count; c++) if (c !== range.skip) relevant.push(row[c]!);
  const r = relevant.length;
  if (r === 0) return null;
  relevant.sort((a, b) => a - b);
  // The skipped column holds -inf, so the scan below passes over it whatever its class.
  // above[p]: irrelevant items strictly more similar than the relevant item at ascending position p.
  const bucket = new Float64Array(r + 1);
  const lowest = relevant[0]!;
  const end = range.first + range.count;
  for (let c = 0; c < row.length; c++) {
    const v = row[c]!;
    if (v <= lowest || (c >= range.first && c < end)) continue;
    // Number of relevant similarities strictly below v (binary search; at least 1 here).
    let lo = 1;
    let hi = r;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (relevant[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    bucket[lo]!++;
  }
  let map = 0;
  let mapAtR = 0;
  let mapC = 0;
  let withinR = 0;
  let above = 0;
  let firstRank = 0;
  // Walk from the most similar relevant item (i = 1, p = r - 1) down.
  for (let p = r - 1; p >= 0; p--) {
    above += bucket[p + 1]!;
    const i = r - p;
    const rank = i + above;
    if (i === 1) firstRank = rank;
    const precision = i / rank;
    map += precision;
    if (rank <= r) {
      mapAtR += precision;
      withinR++;
    }
    if (rank <= r + 1) mapC += precision;
  }
  return { firstRank, map: map / r, mapAtR: mapAtR / r, mapC: mapC / (r + 1), rPrecision: withinR / r };
}
