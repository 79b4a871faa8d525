// Margin loss (Wu et al., "Sampling Matters in Deep Embedding Learning", 2017):
//   for each mined triplet (a, p, n) with beta = beta[class of a] (or one global beta),
//   pos = max(0, d(a,p) - beta + margin),   neg = max(0, beta - d(a,n) + margin)
//   loss = Σ (pos + neg) / (number of nonzero terms)   (Σ itself when all are zero)
//        + nu · Σ beta over the triplets' anchors      (optional regulariser, off by default)
// with Euclidean distances on L2-normalised embeddings and the distance-weighted miner.
// beta is learnable; as in the paper's setup it trains with its own learning rate.
//
// Defaults: margin (alpha) 0.2, beta init 1.2, beta per class, beta learning rate 5e-4
// (absolute, the "Revisiting DML" benchmark value), nu 0.
import { tidy, type Tensor } from '../../torch/index.js';
import { createDistance, type Distance, type DistanceName } from '../distances.js';
import { checkBatch } from '../labels.js';
import type { Miner } from '../miners/miner.js';
import { createMiner, type MinerChoice } from '../miners/registry.js';
import type { DmlLoss, LearningRate, ParameterGroup, ParameterPlacement } from './loss.js';
import { checkClassLabels, checkPositiveInteger, constantParameter } from './parameters.js';
import { tripletValues } from './tuples.js';

export type BetaMode = { kind: 'perClass'; numClasses: number } | { kind: 'global' } | { kind: 'fixed' };

export interface MarginLossOptions extends ParameterPlacement {
  /** alpha in the paper (0.2). */
  margin?: number;
  /** Initial beta, the boundary between positive and negative distances (1.2). */
  betaInit?: number;
  /** Learnable beta per class (needs the number of training classes), one global beta, or a constant. Default global. */
  beta?: BetaMode;
  /** Learning rate of beta (default absolute 5e-4). */
  betaLearningRate?: LearningRate;
  /** Weight of the beta regulariser (0). */
  nu?: number;
  /** Default 'euclidean'. */
  distance?: DistanceName;
  /** Default distance-weighted. */
  miner?: MinerChoice;
}

export class MarginLoss implements DmlLoss {
  readonly name = 'margin';
  readonly margin: number;
  readonly nu: number;
  readonly betaMode: BetaMode;
  readonly betaLearningRate: LearningRate;
  readonly distance: Distance;
  readonly miner: Miner;
  /** [numClasses] per class, [1] global or fixed (fixed: no gradient). */
  readonly beta: Tensor;

  constructor(options: MarginLossOptions = {}) {
    this.margin = options.margin ?? 0.2;
    this.nu = options.nu ?? 0;
    this.betaMode = options.beta ?? { kind: 'global' };
    this.betaLearningRate = options.betaLearningRate ?? { kind: 'absolute', value: 5e-4 };
    this.distance = createDistance(options.distance ?? 'euclidean');
    this.miner = createMiner(options.miner ?? { name: 'distanceweighted' }, { distance: this.distance, margin: this.margin });
    const size = this.betaMode.kind === 'perClass' ? this.betaMode.numClasses : 1;
    checkPositiveInteger('margin loss', 'numClasses', size);
    this.beta = constantParameter([size], options.betaInit ?? 1.2, options);
    if (this.betaMode.kind === 'fixed') this.beta.setRequiresGrad(false);
  }

  compute(embeddings: Tensor, labels: Tensor): Tensor {
    checkBatch('margin', embeddings, labels);
    if (this.betaMode.kind === 'perClass') checkClassLabels('margin loss', labels, this.betaMode.numClasses);
    return tidy(() => {
      const triplets = this.miner.mine(embeddings, labels);
      if (triplets.anchors.size(0) === 0) return embeddings.sum().mul(0).add(this.beta.sum().mul(0));
      const d = this.distance;
      const { positive, negative } = tripletValues(d.matrix(embeddings), triplets);
      const beta = this.betaMode.kind === 'perClass' ? this.beta.indexSelect(0, labels.indexSelect(0, triplets.anchors)) : this.beta;
      const pos = d.farther(positive, beta).add(this.margin).relu();
      const neg = d.farther(beta, negative).add(this.margin).relu();
      const nonzero = pos.gt(0).sum().add(neg.gt(0).sum()).item();
      const total = pos.add(neg).sum();
      let loss = nonzero > 0 ? total.div(nonzero) : total;
      if (this.nu !== 0) loss = loss.add(beta.expand([positive.size(0)]).sum().mul(this.nu));
      return loss;
    });
  }

  parameters(): Tensor[] {
    return this.betaMode.kind === 'fixed' ? [] : [this.beta];
  }
  parameterGroups(): ParameterGroup[] {
    return this.betaMode.kind === 'fixed' ? [] : [{ name: 'margin.beta', params: [this.beta], learningRate: this.betaLearningRate }];
  }
  dispose(): void {
    this.beta.dispose();
  }
}
