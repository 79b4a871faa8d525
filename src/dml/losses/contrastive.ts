// Contrastive loss (Hadsell, Chopra & LeCun, 2006), in the form of the "Revisiting DML"
// benchmark (Roth et al., 2020) that MDProp builds on:
//   loss = mean over positive pairs of max(0, d(a,p) - posMargin)^power
//        + mean over negative pairs of max(0, negMargin - d(a,n))^power
// with Euclidean distances on L2-normalised embeddings, posMargin 0, negMargin 1, power 1
// (Hadsell et al. square both terms and halve them: power 2 gives that shape).
// Pairs are the (a,p) and (a,n) of mined triplets (default: distance-weighted miner, the
// benchmark's default), or every pair of the batch when `miner` is null.
import { tidy, type Tensor } from '../../torch/index.js';
import { createDistance, type Distance, type DistanceName } from '../distances.js';
import { checkBatch, labelMasks } from '../labels.js';
import type { Miner } from '../miners/miner.js';
import { createMiner, type MinerChoice } from '../miners/registry.js';
import type { DmlLoss, ParameterGroup } from './loss.js';
import { maskedMean } from './reduce.js';
import { tripletValues } from './tuples.js';

export interface ContrastiveLossOptions {
  /** Positive pairs closer than this cost nothing (default 0). */
  posMargin?: number;
  /** Negative pairs farther than this cost nothing (default 1). */
  negMargin?: number;
  /** Exponent of each hinge term (default 1). */
  power?: number;
  /** Default 'euclidean'. */
  distance?: DistanceName;
  /** Default distance-weighted; null: every pair in the batch. */
  miner?: MinerChoice | null;
}

export class ContrastiveLoss implements DmlLoss {
  readonly name = 'contrastive';
  readonly posMargin: number;
  readonly negMargin: number;
  readonly power: number;
  readonly distance: Distance;
  readonly miner: Miner | null;

  constructor(options: ContrastiveLossOptions = {}) {
    this.posMargin = options.posMargin ?? 0;
    this.negMargin = options.negMargin ?? 1;
    this.power = options.power ?? 1;
    this.distance = createDistance(options.distance ?? 'euclidean');
    const minerOptions = options.miner === undefined ? { name: 'distanceweighted' as const } : options.miner;
    this.miner = minerOptions === null ? null : createMiner(minerOptions, { distance: this.distance, margin: this.negMargin });
  }

  private hinge(positive: Tensor, negative: Tensor): { positive: Tensor; negative: Tensor } {
    const d = this.distance;
    const pos = d.farther(positive, this.posMargin).relu();
    const neg = d.farther(this.negMargin, negative).relu();
    return this.power === 1 ? { positive: pos, negative: neg } : { positive: pos.pow(this.power), negative: neg.pow(this.power) };
  }

  compute(embeddings: Tensor, labels: Tensor): Tensor {
    checkBatch('contrastive', embeddings, labels);
    return tidy(() => {
      const values = this.distance.matrix(embeddings);
      if (this.miner === null) {
        const masks = labelMasks(labels);
        const terms = this.hinge(values, values);
        return maskedMean(terms.positive, masks.positive).add(maskedMean(terms.negative, masks.negative));
      }
      const triplets = this.miner.mine(embeddings, labels);
      if (triplets.anchors.size(0) === 0) return embeddings.sum().mul(0);
      const pairs = tripletValues(values, triplets);
      const terms = this.hinge(pairs.positive, pairs.negative);
      return terms.positive.mean().add(terms.negative.mean());
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
