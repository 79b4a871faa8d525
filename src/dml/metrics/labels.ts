// Class labels for evaluation: arbitrary integers mapped to dense ids 0..C-1.
import type { Tensor } from '../../torch/index.js';

export interface DenseLabels {
  /** Dense class id of every sample. */
  ids: Int32Array;
  /** Number of distinct classes. */
  classes: number;
}

/** Maps the labels of several sets through one shared table, so equal labels get equal ids. */
export function denseLabels(...sets: readonly (readonly number[])[]): DenseLabels[] {
  const table = new Map<number, number>();
  return sets.map((labels) => {
    const ids = new Int32Array(labels.length);
    labels.forEach((label, i) => {
      let id = table.get(label);
      if (id === undefined) {
        id = table.size;
        table.set(label, id);
      }
      ids[i] = id;
    });
    return { ids, classes: table.size };
  });
}

/** Number of distinct values among ids. */
export function countDistinct(ids: Int32Array): number {
  return new Set(ids).size;
}

export function labelNumbers(labels: Tensor, where: string): number[] {
  if (labels.ndim !== 1) throw new RangeError(`${where}: labels must be 1-D, got [${labels.shape.join(', ')}]`);
  if (!['int64', 'int32', 'int16', 'int8', 'uint8'].includes(labels.dtype)) {
    throw new TypeError(`${where}: labels must be integers (int64), got ${labels.dtype}`);
  }
  return labels.toNumbers();
}

/** Sample order that groups classes together (stable within a class). */
export function orderByClass(ids: Int32Array): Int32Array {
  const order = Int32Array.from(ids.keys());
  order.sort((a, b) => ids[a]! - ids[b]! || a - b);
  return order;
}
