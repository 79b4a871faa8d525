// Distance-weighted miner (Wu et al., "Sampling Matters in Deep Embedding Learning", 2017).
// On the unit sphere in n dimensions, pairwise distances of random points have the density
//   q(d) ∝ d^(n-2) · (1 - d²/4)^((n-3)/2),
// so uniform sampling yields almost only d ≈ √2. Sampling negatives with weight 1/q(d) spreads
// them over all distances. As in the paper, d is clipped below at `lowerCutoff` (0.5, so very
// close negatives do not dominate) and negatives at or beyond `upperCutoff` (1.4) get weight 0,
// since they would give zero loss. For every positive pair one negative of the anchor is drawn;
// when no negative has weight (all beyond the cutoff) one is drawn uniformly.
// Distances are Euclidean on L2-normalised embeddings whatever the loss uses: the weights only
// make sense there.
import { noGrad, tidy } from '../../torch/index.js';
import type { Tensor } from '../../torch/index.js';
import { EuclideanDistance } from '../distances.js';
import { labelMasks } from '../labels.js';
import { multinomial } from '../ops.js';
import { positivePairTensors, type Miner, type Triplets } from './miner.js';

export interface DistanceWeightedMinerOptions {
  /** Distances below are raised to this value (paper: 0.5). */
  lowerCutoff?: number;
  /** Negatives at this distance or farther are never drawn (paper: 1.4); null keeps them all. */
  upperCutoff?: number | null;
}

export class DistanceWeightedMiner implements Miner {
  readonly name = 'distanceweighted';
  readonly lowerCutoff: number;
  readonly upperCutoff: number | null;
  readonly #distance = new EuclideanDistance({ normalize: true });

  constructor(options: DistanceWeightedMinerOptions = {}) {
    this.lowerCutoff = options.lowerCutoff ?? 0.5;
    this.upperCutoff = options.upperCutoff === undefined ? 1.4 : options.upperCutoff;
  }

  /** Sampling weights [B, B] of every candidate column for every anchor row (0 where not allowed). */
  weights(embeddings: Tensor, labels: Tensor): Tensor {
    return noGrad(() =>
      tidy(() => {
        const dim = embeddings.size(1);
        const d = this.#distance.matrix(embeddings.detach()).clampMin(this.lowerCutoff);
        const logInverseDensity = d
          .log()
          .mul(2 - dim)
          .sub(d.square().mul(0.25).rsub(1).clampMin(1e-8).log().mul((dim - 3) / 2));
        let allowed = labelMasks(labels).negative;
        if (this.upperCutoff !== null) allowed = allowed.logicalAnd(d.lt(this.upperCutoff));
        // Subtract each row's largest allowed log-weight before exp, so the largest weight is 1.
        const masked = logInverseDensity.maskedFill(allowed.logicalNot(), -Infinity);
        const rowMax = masked.maxDim(1, true).values.clampMin(-1e30);
        const weights = masked.sub(rowMax).exp();
        // Rows where nothing is allowed (every negative beyond the cutoff): all negatives, equally.
        const empty = weights.sum(1, true).eq(0);
        const fallback = labelMasks(labels).negative.logicalAnd(empty).to(weights.dtype);
        return weights.add(fallback);
      }),
    );
  }

  mine(embeddings: Tensor, labels: Tensor): Triplets {
    return noGrad(() =>
      tidy(() => {
        const { anchors, positives, count } = positivePairTensors(labels, embeddings.device);
        if (count === 0) return { anchors, positives, negatives: positives.clone() };
        const rows = this.weights(embeddings, labels).indexSelect(0, anchors);
        return { anchors, positives, negatives: multinomial(rows, 1).squeeze(1) };
      }),
    );
  }
}
