// Retrieval metrics from one chunked pass over query-by-gallery similarities.
//
// For a query q with R relevant gallery items (same class, q itself excluded), let rank_i be the
// 1-based position of its i-th nearest relevant item in the full ranking. Then
//   Recall@K      = 1 if some relevant item is among the K nearest, else 0     (via top-k)
//   mAP           = 1/R Σ_{i=1..R} i / rank_i                                 (whole ranking)
//   MAP@R         = 1/R Σ_{i: rank_i <= R} i / rank_i                          (Musgrave et al. 2020)
//   R-precision   = |{i: rank_i <= R}| / R
// each averaged over the queries that have R >= 1 (the others are skipped, and counted).
//
// rank_i = i + (irrelevant items more similar than that relevant item). Per block the relevant
// similarities of each query are sorted, every irrelevant similarity is bucketed among them
// (searchsorted) and the buckets are counted (bincount): no full sort of 60,000-wide rows.
// Ties between a relevant and an irrelevant item count in favour of the relevant one.
import { arange, F, noGrad, tensor, tidy, type Tensor } from '../../torch/index.js';
import { bincount, cumsum, indexFill_, searchsorted } from '../ops.js';
import { chunkRows, deviceOption, similarityBlock } from './chunks.js';
import { orderByClass } from './labels.js';

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

export interface RetrievalScores {
  /** Recall@K for each requested K, in the order given. */
  recall: number[];
  mapAtR: number;
  rPrecision: number;
  map: number;
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

export function retrievalScores(input: RetrievalInput): RetrievalScores {
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
      const device = deviceOption(input.queries);
      const orderT = int64(order, device);
      const g = F.l2Normalize((self ? input.queries : input.gallery!).detach(), 1).indexSelect(0, orderT);
      const galleryIds = Int32Array.from(order, (i) => galleryIdsRaw[i]!);
      // In self mode the queries are the sorted gallery itself, so query i's own column is i.
      const q = self ? g : F.l2Normalize(input.queries.detach(), 1);
      const queryIds = self ? galleryIds : input.queryIds;
      const gT = g.t().contiguous();
      const galleryIdsT = int64(galleryIds, device);
      const ranges = classRanges(galleryIds, classes);
      const ng = g.size(0);
      const nq = q.size(0);
      const excluded = excludedColumns(input, order, nq);
      const candidates = ng - (self || excluded ? 1 : 0);
      const maxK = Math.min(Math.max(...ks), candidates);
      const rows = input.chunkSize ?? chunkRows(ng, input.memoryBudgetBytes);

      const hitsAtK = new Float64Array(ks.length);
      let sumMapAtR = 0;
      let sumRPrecision = 0;
      let sumMap = 0;
      let evaluated = 0;
      for (let start = 0; start < nq; start += rows) {
        const count = Math.min(rows, nq - start);
        const blockIds = queryIds.subarray(start, start + count);
        const blockExcluded = excluded?.subarray(start, start + count);
        const relevantCounts = Int32Array.from(blockIds, (id, i) => {
          const column = blockExcluded?.[i] ?? -1;
          const ownCopy = self || (column >= 0 && galleryIds[column] === id);
          return (ranges.count[id] ?? 0) - (ownCopy ? 1 : 0);
        });
        tidy(() => {
          const block = similarityBlock(q, gT, start, count, self);
          if (blockExcluded) maskColumns(block, blockExcluded);
          const blockIdsT = int64(blockIds, device);
          const firstHit = firstRelevantPosition(block, blockIdsT, galleryIdsT, maxK);
          const skip = self ? Int32Array.from({ length: count }, (_, i) => start + i) : (blockExcluded ?? null);
          const above = irrelevantAbove(block, blockIdsT, galleryIdsT, blockIds, ranges, skip);
          for (let i = 0; i < count; i++) {
            const r = relevantCounts[i]!;
            if (r < 1) continue;
            evaluated++;
            ks.forEach((k, j) => {
              if (firstHit[i]! < k) hitsAtK[j]!++;
            });
            const scores = averagePrecisions(above.values, i * above.width, r);
            sumMap += scores.map;
            sumMapAtR += scores.mapAtR;
            sumRPrecision += scores.rPrecision;
          }
        });
        input.onProgress?.(start + count, nq);
      }
      if (evaluated === 0) throw new RangeError('retrieval: no query has a relevant item (same class) among the gallery');
      return {
        recall: Array.from(hitsAtK, (h) => h / evaluated),
        mapAtR: sumMapAtR / evaluated,
        rPrecision: sumRPrecision / evaluated,
        map: sumMap / evaluated,
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
  if (flat.length > 0) tidy(() => indexFill_(block.view([-1]), 0, int64(flat, deviceOption(block)), -Infinity));
}

/** Per query row: the position (0-based) of the first relevant item among the top maxK, or maxK. */
function firstRelevantPosition(block: Tensor, blockIds: Tensor, galleryIds: Tensor, maxK: number): Int32Array {
  return tidy(() => {
    const top = block.topk(maxK, 1, true, true).indices;
    const hit = galleryIds.indexSelect(0, top.flatten()).view([top.size(0), maxK]).eq(blockIds.unsqueeze(1));
    const position = hit.to('uint8').argmax(1).toNumbers();
    const any = hit.sum(1).gt(0).toNumbers();
    return Int32Array.from(position, (p, i) => (any[i] ? p : maxK));
  });
}

interface AboveCounts {
  /** Row-major [rows, width]: entry p of row i = irrelevant items more similar than the relevant item at ascending position p. */
  values: Float64Array;
  width: number;
}

function irrelevantAbove(
  block: Tensor,
  blockIdsT: Tensor,
  galleryIds: Tensor,
  blockIds: Int32Array,
  ranges: ClassRanges,
  /** Per row, a gallery column that is the query itself (-1: none); null when there is none. */
  skipColumns: Int32Array | null,
): AboveCounts {
  return tidy(() => {
    const rows = block.size(0);
    const width = Math.max(1, largest(Int32Array.from(blockIds, (id) => ranges.count[id] ?? 0)));
    // Gather each query's relevant similarities; padding and the query itself become +inf,
    // which sorts after every real value and is never "below" an irrelevant one.
    const columns = new Array<number>(rows * width);
    const padding = new Array<number>(rows * width);
    for (let i = 0; i < rows; i++) {
      const id = blockIds[i]!;
      const first = ranges.start[id]!;
      const n = ranges.count[id]!;
      for (let p = 0; p < width; p++) {
        const column = n === 0 ? 0 : first + Math.min(p, n - 1);
        columns[i * width + p] = column;
        padding[i * width + p] = p >= n || (skipColumns !== null && column === skipColumns[i]) ? 1 : 0;
      }
    }
    const device = deviceOption(block);
    const columnsT = int64(columns, device).view([rows, width]);
    const paddingT = tensor(padding, [rows, width], { dtype: 'bool', device });
    const relevant = block.gather(1, columnsT).maskedFill(paddingT, Infinity).sort(1).values;
    const irrelevant = block.maskedFill(galleryIds.unsqueeze(0).eq(blockIdsT.unsqueeze(1)), -Infinity);
    const bucket = searchsorted(relevant, irrelevant); // [rows, Ng] in [0, width]
    const offsets = arange(0, rows * (width + 1), width + 1, { device }).unsqueeze(1);
    const histogram = bincount(bucket.add(offsets).flatten(), rows * (width + 1)).view([rows, width + 1]);
    const cumulative = cumsum(histogram, 1);
    const above = cumulative.narrow(1, width, 1).sub(cumulative.narrow(1, 0, width));
    return { values: Float64Array.from(above.toNumbers()), width };
  });
}

/** AP over the whole ranking, AP@R and R-precision of one query from its "above" counts. */
function averagePrecisions(above: Float64Array, offset: number, r: number): { map: number; mapAtR: number; rPrecision: number } {
  let map = 0;
  let mapAtR = 0;
  let withinR = 0;
  // Ascending position p holds the i-th most similar relevant item, i = r - p.
  for (let p = 0; p < r; p++) {
    const i = r - p;
    const rank = i + above[offset + p]!;
    const precision = i / rank;
    map += precision;
    if (rank <= r) {
      mapAtR += precision;
      withinR++;
    }
  }
  return { map: map / r, mapAtR: mapAtR / r, rPrecision: withinR / r };
}
