// Multi-similarity loss (Wang et al., CVPR 2019), with its own pair mining.
//
// For an anchor i with similarities S_ik to the batch (cosine by default):
//   mining: keep negative k when  S_ik + margin > min over positives S_ij,
//           keep positive k when  S_ik - margin < max over negatives S_ij
//           (both bounds from the unmined sets);
//   loss_i = 1/alpha · log(1 + Σ_{kept pos} exp(-alpha (S_ik - lambda)))
//          + 1/beta  · log(1 + Σ_{kept neg} exp( beta (S_ik - lambda)))
// averaged over anchors that keep at least one positive and one negative (0 when none does).
// With a distance instead of a similarity every comparison is mirrored (see Distance.farther).
//
// Paper defaults: alpha 2, beta 40, lambda (base) 0.5, margin (epsilon) 0.1.
import { noGrad, tidy, type Tensor } from '../../torch/index.js';
import { createDistance, type Distance, type DistanceName } from '../distances.js';
import { checkBatch, labelMasks } from '../labels.js';
import type { DmlLoss, ParameterGroup } from './loss.js';
import { logOnePlusSumExp, maskedMean } from './reduce.js';

export interface MultiSimilarityOptions {
  /** Weight of positive similarities (paper: 2). */
  alpha?: number;
  /** Weight of negative similarities (paper: 40). */
  beta?: number;
  /** The similarity threshold lambda the exponents are centred on (paper: 0.5). */
  base?: number;
  /** Mining margin epsilon (paper: 0.1). */
  margin?: number;
  /** Default 'cosine', as in the paper. */
  distance?: DistanceName;
}

export class MultiSimilarityLoss implements DmlLoss {
  readonly name = 'multisimilarity';
  readonly alpha: number;
  readonly beta: number;
  readonly base: number;
  readonly margin: number;
  readonly distance: Distance;

  constructor(options: MultiSimilarityOptions = {}) {
    this.alpha = options.alpha ?? 2;
    this.beta = options.beta ?? 40;
    this.base = options.base ?? 0.5;
    this.margin = options.margin ?? 0.1;
    this.distance = createDistance(options.distance ?? 'cosine');
  }

  /** The mined pairs: [B, B] bool masks of kept positives and kept negatives per anchor row. */
  minePairs(values: Tensor, labels: Tensor): { positive: Tensor; negative: Tensor } {
    return noGrad(() =>
      tidy(() => {
        const d = this.distance;
        const masks = labelMasks(labels);
        const v = values.detach();
        const farthestPositive = d.farthestIn(v, masks.positive);
        const closestNegative = d.closestIn(v, masks.negative);
        return {
          negative: masks.negative.logicalAnd(d.farther(v, farthestPositive).lt(this.margin)),
          positive: masks.positive.logicalAnd(d.farther(closestNegative, v).lt(this.margin)),
        };
      }),
    );
  }

  compute(embeddings: Tensor, labels: Tensor): Tensor {
    checkBatch('multisimilarity', embeddings, labels);
    return tidy(() => {
      const d = this.distance;
      const values = d.matrix(embeddings);
      const kept = this.minePairs(values, labels);
      const positiveTerm = logOnePlusSumExp(d.farther(values, this.base).mul(this.alpha), kept.positive, 1).div(this.alpha);
      const negativeTerm = logOnePlusSumExp(d.farther(this.base, values).mul(this.beta), kept.negative, 1).div(this.beta);
      const active = kept.positive.sum(1).gt(0).logicalAnd(kept.negative.sum(1).gt(0));
      return maskedMean(positiveTerm.add(negativeTerm), active);
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
