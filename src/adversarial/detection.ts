// Detecting attacked queries by how far apart their embeddings through two BN branches are. An
// MDProp model keeps a batch-norm branch per training distribution (clean, STAX, MTAX); a query's
// gap ||f_clean(x) - f_k(x)|| between the clean branch and auxiliary branch k is the score, and how
// well it separates attacked queries from clean ones is the area under the ROC curve (0.5: chance).

export interface RocCurve {
  /** False-positive rate (clean queries scored at or above the threshold), rising from 0 to 1. */
  fpr: number[];
  /** True-positive rate (attacked queries at or above it), at the same thresholds. */
  tpr: number[];
}

/**
 * The area under the ROC curve of `positives` (attacked) against `negatives` (clean), higher
 * scores meaning "attacked": the probability that a random positive scores above a random
 * negative, ties counting one half (the Mann-Whitney U statistic over n_pos * n_neg).
 */
export function auroc(positives: ArrayLike<number>, negatives: ArrayLike<number>): number {
  const p = positives.length;
  const n = negatives.length;
  if (p === 0 || n === 0) throw new RangeError(`AUROC needs scores of both kinds, got ${p} attacked and ${n} clean`);
  const all = [...Array.from(positives, (score) => ({ score, positive: true })), ...Array.from(negatives, (score) => ({ score, positive: false }))];
  if (all.some((a) => !Number.isFinite(a.score))) throw new RangeError('AUROC: every score must be a finite number');
  all.sort((a, b) => a.score - b.score);
  // Mid-ranks (1-based) over ties, then U = (sum of the positives' ranks) - p(p+1)/2.
  let rankSum = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]!.score === all[i]!.score) j++;
    const midRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (all[k]!.positive) rankSum += midRank;
    i = j + 1;
  }
  return (rankSum - (p * (p + 1)) / 2) / (p * n);
}

/**
 * The ROC curve at every distinct score (thresholds from the highest down), thinned to at most
 * `maxPoints` points, always keeping (0, 0) and (1, 1).
 */
export function rocCurve(positives: ArrayLike<number>, negatives: ArrayLike<number>, maxPoints = 101): RocCurve {
  const p = positives.length;
  const n = negatives.length;
  if (p === 0 || n === 0) throw new RangeError(`ROC needs scores of both kinds, got ${p} attacked and ${n} clean`);
  const all = [...Array.from(positives, (score) => ({ score, positive: true })), ...Array.from(negatives, (score) => ({ score, positive: false }))];
  all.sort((a, b) => b.score - a.score);
  const fpr = [0];
  const tpr = [0];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j]!.score === all[i]!.score) {
      if (all[j]!.positive) tp++;
      else fp++;
      j++;
    }
    fpr.push(fp / n);
    tpr.push(tp / p);
    i = j;
  }
  if (fpr.length <= maxPoints) return { fpr, tpr };
  const keep = Array.from({ length: maxPoints }, (_, k) => Math.round((k * (fpr.length - 1)) / (maxPoints - 1)));
  return { fpr: keep.map((i) => fpr[i]!), tpr: keep.map((i) => tpr[i]!) };
}
