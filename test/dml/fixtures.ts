// Small batches and a fixed miner shared by the loss tests.
import type { Miner, Triplets } from '../../src/dml/index.js';
import { positivePairs } from '../../src/dml/index.js';
import { tensor, type Tensor } from '../../src/torch/index.js';
import type { TripletList } from './loss-reference.js';
import { gaussian, lcg, type Matrix } from './reference.js';

export const LABELS = [0, 0, 1, 1, 2, 2, 0, 1];

export function randomRows(seed: number, n: number, dim: number, scale = 1): Matrix {
  const random = lcg(seed);
  return Array.from({ length: n }, () => Array.from({ length: dim }, () => scale * gaussian(random)));
}

/** A float64 leaf that requires grad. */
export function leaf(rows: Matrix): Tensor {
  return tensor(rows.flat(), [rows.length, rows[0]!.length], { dtype: 'float64' }).setRequiresGrad(true);
}

export function labelTensor(labels: number[]): Tensor {
  return tensor(labels, [labels.length], { dtype: 'int64' });
}

export function toMatrix(t: Tensor): Matrix {
  const flat = t.toNumbers();
  const cols = t.size(1);
  return Array.from({ length: t.size(0) }, (_, i) => flat.slice(i * cols, (i + 1) * cols));
}

/** Every positive pair with a deterministic negative: the next sample (cyclically) of another class. */
export function fixedTriplets(labels: number[]): TripletList {
  const { anchors, positives } = positivePairs(labels);
  const negatives = anchors.map((a, i) => {
    for (let step = 1 + (i % 3); ; step++) {
      const n = (a + step) % labels.length;
      if (labels[n] !== labels[a]) return n;
    }
  });
  return { anchors, positives, negatives };
}

const int64 = (values: number[]): Tensor => tensor(values, [values.length], { dtype: 'int64' });

/** A miner that always returns the same triplets (so values and finite differences are deterministic). */
export class FixedMiner implements Miner {
  readonly name = 'fixed';
  constructor(readonly triplets: TripletList) {}
  mine(): Triplets {
    return { anchors: int64(this.triplets.anchors), positives: int64(this.triplets.positives), negatives: int64(this.triplets.negatives) };
  }
}
