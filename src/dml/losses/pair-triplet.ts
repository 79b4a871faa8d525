// The triplet loss of the adversarial-ranking literature (RobRank's "ptripletN"), over batches of
// same-class pairs: one triplet per pair (anchor = even row, positive = the odd row after it,
// negative = a random row of another class), plain Euclidean distance between L2-normalised
// embeddings, loss = mean over the triplets of max(0, d(a,p) - d(a,n) + margin), margin 0.2.
// It differs from `triplet` (squared distance, every positive pair, semi-hard negatives).
import { tidy, type Tensor } from '../../torch/index.js';
import { checkBatch } from '../labels.js';
import { minePairs } from '../miners/pairs.js';
import type { DmlLoss, ParameterGroup } from './loss.js';

/** mean max(0, ||a - p|| - ||a - n|| + margin) over rows of three [T, D] tensors. */
export function tripletMarginMean(anchors: Tensor, positives: Tensor, negatives: Tensor, margin: number): Tensor {
  return tidy(() => {
    const ap = anchors.sub(positives).norm(2, 1);
    const an = anchors.sub(negatives).norm(2, 1);
    return ap.sub(an).add(margin).relu().mean();
  });
}

export interface PairTripletOptions {
  /** RobRank: 0.2 on the unit sphere. */
  margin?: number;
}

export class PairTripletLoss implements DmlLoss {
  readonly name = 'pair-triplet';
  readonly margin: number;

  constructor(options: PairTripletOptions = {}) {
    this.margin = options.margin ?? 0.2;
  }

  compute(embeddings: Tensor, labels: Tensor): Tensor {
    checkBatch('pair-triplet', embeddings, labels);
    return tidy(() => {
      const { anchors, positives, negatives } = minePairs('random', labels, null);
      return tripletMarginMean(embeddings.indexSelect(0, anchors), embeddings.indexSelect(0, positives), embeddings.indexSelect(0, negatives), this.margin);
    });
  }

  parameters(): Tensor[] {
    return [];
  }
  parameterGroups(): ParameterGroup[] {
    return [];
  }
  dispose(): void {}
}
