// Semi-hard miner (Schroff et al., FaceNet, 2015): for a positive pair (a, p), a negative n is
// semi-hard when it is farther from a than p is, but by less than the margin:
//   d(a,p) < d(a,n) < d(a,p) + margin     (in the direction of the given distance).
// One is drawn uniformly among them; when there is none, a uniformly random negative is taken
// instead (the rule of the "Revisiting DML" benchmark code), so every positive pair yields a triplet.
import { noGrad, tidy } from '../../torch/index.js';
import type { Tensor } from '../../torch/index.js';
import type { Distance } from '../distances.js';
import { labelMasks } from '../labels.js';
import { uniformChoice } from './choose.js';
import { positivePairTensors, type Miner, type Triplets } from './miner.js';

export interface SemiHardMinerOptions {
  /** The band beyond the positive; use the loss's margin (triplet: 0.2). */
  margin: number;
}

export class SemiHardMiner implements Miner {
  readonly name = 'semihard';
  constructor(
    readonly distance: Distance,
    readonly options: SemiHardMinerOptions,
  ) {}

  mine(embeddings: Tensor, labels: Tensor): Triplets {
    return noGrad(() =>
      tidy(() => {
        const { anchors, positives } = positivePairTensors(labels, embeddings.device);
        const values = this.distance.matrix(embeddings.detach());
        const anchorRows = values.indexSelect(0, anchors); // [P, B]
        const positiveValue = anchorRows.gather(1, positives.unsqueeze(1)); // [P, 1]
        const negative = labelMasks(labels).negative.indexSelect(0, anchors);
        const beyond = this.distance.farther(anchorRows, positiveValue); // > 0: n farther than p
        const band = negative.logicalAnd(beyond.gt(0)).logicalAnd(beyond.lt(this.options.margin));
        const rowHasBand = band.sum(1).gt(0).unsqueeze(1);
        const allowed = band.logicalOr(negative.logicalAnd(rowHasBand.logicalNot()));
        return { anchors, positives, negatives: uniformChoice(allowed) };
      }),
    );
  }
}
