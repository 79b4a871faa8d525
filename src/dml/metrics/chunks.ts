// Query-by-gallery similarity in row chunks: one [chunk, Ng] block at a time, so a 60,000 x 60,000
// comparison never holds more than one block. On L2-normalised rows the Euclidean order is the
// inner-product order (|a - b|² = 2 - 2 a·b), so a matmul ranks by Euclidean distance.
import { arange, type Tensor } from '../../torch/index.js';
import { indexFill_ } from '../ops.js';

/** Bytes a retrieval pass spends per similarity entry (the block, masks, bucket indices). */
export const BYTES_PER_ENTRY = 32;
export const DEFAULT_MEMORY_BUDGET = 512 * 1024 * 1024;

/** Rows per block so that a block and its temporaries stay within the budget. */
export function chunkRows(galleryRows: number, memoryBudgetBytes = DEFAULT_MEMORY_BUDGET): number {
  return Math.max(1, Math.floor(memoryBudgetBytes / (Math.max(galleryRows, 1) * BYTES_PER_ENTRY)));
}

/**
 * Similarities [rows, Ng] of queries[start, start + rows) to the gallery (given transposed,
 * [D, Ng]). With `selfOffset` (queries are the gallery), entry (i, start + i) is set to -inf so a
 * sample never retrieves itself.
 */
export function similarityBlock(queries: Tensor, galleryT: Tensor, start: number, rows: number, excludeSelf: boolean): Tensor {
  const block = queries.narrow(0, start, rows).mm(galleryT);
  if (excludeSelf) {
    const width = galleryT.size(1);
    // Row i, column start + i sits at flat position start + i (width + 1).
    const diagonal = arange(start, start + rows * (width + 1), width + 1, { device: deviceOption(block) });
    indexFill_(block.view([-1]), 0, diagonal, -Infinity);
  }
  return block;
}

export function deviceOption(t: Tensor): string | undefined {
  return t.device === 'cpu' ? undefined : t.device;
}
