// Reading mined triplets out of a batch's distance matrix.
import { tidy, type Tensor } from '../../torch/index.js';
import type { Triplets } from '../miners/miner.js';

/** The anchor-positive and anchor-negative values [T] of each triplet. */
export function tripletValues(values: Tensor, triplets: Triplets): { positive: Tensor; negative: Tensor } {
  return tidy(() => ({
    positive: values.index([triplets.anchors, triplets.positives]),
    negative: values.index([triplets.anchors, triplets.negatives]),
  }));
}
