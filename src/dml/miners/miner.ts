// The common shape of batch miners: every miner keeps each positive pair (anchor, positive) of
// the batch and picks one negative for it by its own rule. Mining never records gradients.
import { tensor, type Tensor } from '../../torch/index.js';
import { labelList } from '../labels.js';

/** Index triplets into the batch, int64 [T] each, on the embeddings' device. */
export interface Triplets {
  anchors: Tensor;
  positives: Tensor;
  negatives: Tensor;
}

export type MinerName = 'random' | 'semihard' | 'distanceweighted';

export interface Miner {
  /** One of MinerName for the built-in miners; anything for a custom one. */
  readonly name: string;
  /** Triplets for this batch; anchors without a negative in the batch are left out. */
  mine(embeddings: Tensor, labels: Tensor): Triplets;
}

export interface PositivePairs {
  anchors: number[];
  positives: number[];
}

/** Every ordered pair (a, p), a != p, of equal label whose anchor has some negative in the batch. */
export function positivePairs(labels: readonly number[]): PositivePairs {
  const anchors: number[] = [];
  const positives: number[] = [];
  const distinct = new Set(labels).size;
  if (distinct < 2) return { anchors, positives };
  for (let a = 0; a < labels.length; a++) {
    for (let p = 0; p < labels.length; p++) {
      if (p !== a && labels[p] === labels[a]) {
        anchors.push(a);
        positives.push(p);
      }
    }
  }
  return { anchors, positives };
}

/** int64 index tensor on a device. */
export function indexTensor(values: readonly number[], device: string): Tensor {
  return tensor(BigInt64Array.from(values, (v) => BigInt(v)), [values.length], { dtype: 'int64', device: device });
}

/** Every (anchor, positive) pair of a batch as int64 index tensors on the embeddings' device. */
export function positivePairTensors(labels: Tensor, device: string): { anchors: Tensor; positives: Tensor; count: number } {
  const pairs = positivePairs(labelList(labels));
  return { anchors: indexTensor(pairs.anchors, device), positives: indexTensor(pairs.positives, device), count: pairs.anchors.length };
}
