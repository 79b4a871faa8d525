// Miners for batches of pairs (the adversarial-ranking literature's "SPC-2" batches, RobRank): rows
// 2i and 2i+1 hold two images of one class, so each even row is an anchor and the odd row after it
// its positive; classes may repeat across pairs. One triplet per pair, its negative chosen by a
// rule over the anchor's row of the distance matrix:
// - random:   any row of another class;
// - semihard: another class, farther than the positive but within the margin of it
//             (d(a,p) < d(a,n) < d(a,p) + margin); any other class when none is;
// - softhard: the positive too is re-chosen: negatives nearer than the anchor's farthest
//             same-class row, positives farther than its nearest other-class row; each falling back
//             to any row of the right class when none qualifies. As in RobRank's miner, the
//             positive's fallback counts the anchor itself among its class's rows, so an easy
//             anchor sometimes trains on (a, a, n).
// Choices among allowed rows are uniform, drawn from libtorch's seeded generator.
import { arange, noGrad, tidy, where, type Tensor } from '../../torch/index.js';
import { checkBatch, labelMasks } from '../labels.js';
import { uniformChoice } from './choose.js';
import type { Triplets } from './miner.js';

export const PAIR_MINER_RULES = ['random', 'semihard', 'softhard'] as const;
export type PairMinerRule = (typeof PAIR_MINER_RULES)[number];

/** Checks that rows 2i and 2i+1 share a label (an even batch of same-class pairs). */
export function checkPairBatch(where: string, labels: readonly number[]): void {
  if (labels.length % 2 !== 0 || labels.length < 2) throw new RangeError(`${where}: a batch of pairs needs an even number of rows, got ${labels.length}`);
  for (let i = 0; i < labels.length; i += 2) {
    if (labels[i] !== labels[i + 1]) {
      throw new RangeError(`${where}: rows ${i} and ${i + 1} have labels ${labels[i]} and ${labels[i + 1]}; pair triplets need batches of same-class pairs (samples per class 2)`);
    }
  }
  if (new Set(labels).size < 2) throw new RangeError(`${where}: the batch holds one class only; triplets need negatives`);
}

/** Rows of `mask` [P, B] where nothing is allowed take `fallback`'s row instead. */
function orElse(mask: Tensor, fallback: Tensor): Tensor {
  return tidy(() => where(mask.long().sum(1, true).gt(0), mask, fallback));
}

/**
 * One triplet per pair of the batch. `distances` [B, B] is the batch's distance matrix (larger is
 * farther), needed by semihard and softhard; `margin` by semihard.
 */
export function minePairs(rule: PairMinerRule, labels: Tensor, distances: Tensor | null, margin = 0.2): Triplets {
  const list = labels.toNumbers();
  checkPairBatch(`${rule} pair miner`, list);
  return noGrad(() =>
    tidy(() => {
      const device = labels.device;
      const anchors = arange(0, list.length, 2, { dtype: 'int64', device });
      const pairPositives = arange(1, list.length, 2, { dtype: 'int64', device });
      const masks = labelMasks(labels);
      const negative = masks.negative.indexSelect(0, anchors);
      if (rule === 'random') return { anchors, positives: pairPositives, negatives: uniformChoice(negative) };
      if (distances === null) throw new RangeError(`${rule} pair miner: needs the batch's distance matrix`);
      checkBatch(`${rule} pair miner`, distances, labels);
      const rows = distances.detach().indexSelect(0, anchors);
      if (rule === 'semihard') {
        const ap = rows.gather(1, pairPositives.unsqueeze(1));
        const semi = rows.gt(ap).logicalAnd(rows.lt(ap.add(margin))).logicalAnd(negative);
        return { anchors, positives: pairPositives, negatives: uniformChoice(orElse(semi, negative)) };
      }
      const positive = masks.positive.indexSelect(0, anchors);
      const big = 1e30;
      const farthestSame = rows.maskedFill(positive.logicalNot(), -big).maxDim(1, true).values;
      const nearestOther = rows.maskedFill(negative.logicalNot(), big).minDim(1, true).values;
      const softNegative = rows.lt(farthestSame).logicalAnd(negative);
      const softPositive = rows.gt(nearestOther).logicalAnd(positive);
      const sameClass = labels.indexSelect(0, anchors).unsqueeze(1).eq(labels.unsqueeze(0));
      return { anchors, positives: uniformChoice(orElse(softPositive, sameClass)), negatives: uniformChoice(orElse(softNegative, negative)) };
    }),
  );
}
