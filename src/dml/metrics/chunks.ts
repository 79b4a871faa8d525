// Query-by-gallery similarity in row blocks: one [rows, Ng] block at a time, so a 60,000 x 60,000
// comparison never holds more than one block. On L2-normalised rows the Euclidean order is the
// inner-product order (|a - b|² = 2 - 2 a·b), so inner products rank by Euclidean distance.
import { arange, type Tensor } from '../../torch/index.js';
import { indexFill_ } from '../ops.js';
import type { FixedRows } from './inner-products.js';

/** Bytes a retrieval pass spends per similarity entry (the block, its copy in JS, top-k work). */
export const BYTES_PER_ENTRY = 16;
export const DEFAULT_MEMORY_BUDGET = 128 * 1024 * 1024;

/** Rows per block so that a block and its temporaries stay within the budget. */
export function chunkRows(galleryRows: number, memoryBudgetBytes = DEFAULT_MEMORY_BUDGET, bytesPerEntry = BYTES_PER_ENTRY): number {
  return Math.max(1, Math.floor(memoryBudgetBytes / (Math.max(galleryRows, 1) * bytesPerEntry)));
}

/**
 * Similarities [rows, Ng] of queries[start, start + rows) to the gallery. With `excludeSelf`
 * (the queries are the gallery), entry (i, start + i) is set to -inf so that a sample never
 * retrieves itself.
 */
export function similarityBlock(queries: Tensor, gallery: FixedRows, start: number, rows: number, excludeSelf: boolean): Tensor {
  const block = gallery.against(queries.narrow(0, start, rows)).contiguous();
  if (excludeSelf) {
    const width = gallery.rows;
    // Row i, column start + i sits at flat position start + i (width + 1).
    const diagonal = arange(start, start + rows * (width + 1), width + 1, { device: block.device });
    indexFill_(block.view([-1]), 0, diagonal, -Infinity);
  }
  return block;
}

/** Rows in float32 (or float64 when given so), L2-normalised: the form every metric works on. */
export function metricFloat(t: Tensor): Tensor {
  return t.dtype === 'float64' ? t : t.to('float32');
}
