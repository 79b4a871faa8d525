// aten operators that only the metric-learning code needs, wrapped here rather than on Tensor so
// the tensor layer stays small. Each wrapper is one op call; in-place ones release their alias.
import { op, run, type Tensor } from '../torch/index.js';

const ops = {
  cumsum: op('cumsum'),
  searchsorted: op('searchsorted', 'Tensor'),
  bincount: op('bincount'),
  indexFill_: op('index_fill_', 'int_Scalar'),
  indexAdd: op('index_add'),
  multinomial: op('multinomial'),
  svdvals: op('linalg_svdvals'),
  oneHot: op('one_hot'),
};

/** Running sum along dim. */
export function cumsum(t: Tensor, dim: number): Tensor {
  return run(ops.cumsum, t, dim);
}

/**
 * For every value, how many entries of its row of the ascending `sorted` are strictly below it
 * (the insertion point on the left). Rows of `sorted` pair with rows of `values`.
 */
export function searchsorted(sorted: Tensor, values: Tensor): Tensor {
  return run(ops.searchsorted, sorted, values, false, false);
}

/** Occurrences of each non-negative integer in a 1-D tensor, at least `minlength` bins. */
export function bincount(t: Tensor, minlength = 0): Tensor {
  return run(ops.bincount, t, null, minlength);
}

/** Sets the entries at `index` along `dim` to `value`, in place. */
export function indexFill_(t: Tensor, dim: number, index: Tensor, value: number): Tensor {
  run(ops.indexFill_, t, dim, index, value).dispose();
  return t;
}

/** A copy of `t` with rows of `source` added at positions `index` along `dim` (repeats accumulate). */
export function indexAdd(t: Tensor, dim: number, index: Tensor, source: Tensor): Tensor {
  return run(ops.indexAdd, t, dim, index, source);
}

/** Draws `n` indices per row with probability proportional to the row's weights. */
export function multinomial(weights: Tensor, n: number, replacement = false): Tensor {
  return run(ops.multinomial, weights, n, replacement);
}

/** Singular values, descending. */
export function svdvals(t: Tensor): Tensor {
  return run(ops.svdvals, t);
}

export function oneHot(labels: Tensor, numClasses: number): Tensor {
  return run(ops.oneHot, labels, numClasses);
}
