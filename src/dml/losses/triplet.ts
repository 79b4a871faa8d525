// Triplet loss (Weinberger & Saul 2009; in DML as in Schroff et al., FaceNet, 2015):
//   loss = mean over mined triplets (a, p, n) of  max(0, d(a,p) - d(a,n) + margin)
// with squared Euclidean distances on L2-normalised embeddings by default, as in FaceNet.
// Triplets come from a miner: semi-hard (FaceNet's choice, default) or distance-weighted.
//
// Paper default: margin 0.2.
import { tidy, type Tensor } from '../../torch/index.js';
import { createDistance, type Distance, type DistanceName } from '../distances.js';
import { checkBatch } from '../labels.js';
import type { Miner } from '../miners/miner.js';
import { createMiner, type MinerChoice } from '../miners/registry.js';
import type { DmlLoss, ParameterGroup } from './loss.js';
import { tripletValues } from './tuples.js';

export interface TripletLossOptions {
  /** Paper: 0.2. */
  margin?: number;
  /** Default 'squaredEuclidean' (FaceNet). */
  distance?: DistanceName;
  /** Default semi-hard with the loss's margin. */
  miner?: MinerChoice;
}

export class TripletLoss implements DmlLoss {
  readonly name = 'triplet';
  readonly margin: number;
  readonly distance: Distance;
  readonly miner: Miner;

  constructor(options: TripletLossOptions = {}) {
    this.margin = options.margin ?? 0.2;
    this.distance = createDistance(options.distance ?? 'squaredEuclidean');
    this.miner = createMiner(options.miner ?? { name: 'semihard' }, { distance: this.distance, margin: this.margin });
  }

  compute(embeddings: Tensor, labels: Tensor): Tensor {
    checkBatch('triplet', embeddings, labels);
    return tidy(() => {
      const triplets = this.miner.mine(embeddings, labels);
      if (triplets.anchors.size(0) === 0) return embeddings.sum().mul(0);
      const { positive, negative } = tripletValues(this.distance.matrix(embeddings), triplets);
      return this.distance.farther(positive, negative).add(this.margin).relu().mean();
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
