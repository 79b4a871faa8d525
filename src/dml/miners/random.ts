// Random miner: for every positive pair, a negative drawn uniformly from the anchor's negatives.
import { noGrad, tidy } from '../../torch/index.js';
import type { Tensor } from '../../torch/index.js';
import { labelMasks } from '../labels.js';
import { uniformChoice } from './choose.js';
import { positivePairTensors, type Miner, type Triplets } from './miner.js';

export class RandomMiner implements Miner {
  readonly name = 'random';

  mine(embeddings: Tensor, labels: Tensor): Triplets {
    return noGrad(() =>
      tidy(() => {
        const { anchors, positives } = positivePairTensors(labels, embeddings.device);
        const negatives = uniformChoice(labelMasks(labels).negative.indexSelect(0, anchors));
        return { anchors, positives, negatives };
      }),
    );
  }
}
