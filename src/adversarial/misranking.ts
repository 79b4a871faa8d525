// The four attacks RobRank adds to CA/QA/ES for its empirical robustness score (Zhou et al.,
// "Enhancing Adversarial Robustness for Deep Metric Learning", CVPR 2022; their code:
// robrank/attacks/advrank.py, advrank_loss.py, advrank_qcselector.py). All on L2-normalised
// embeddings with Euclidean distance d, against the clean gallery X; the attacked image is a query q~
// whose own clean copy in X is never counted.
//   TMA  targeted mismatch attack (Tolias et al., ICCV 2019): pull q~ towards one uniformly drawn
//        gallery embedding t. Loss (minimised): 1 - cos(q~, t). Measure: cos(q~, t).
//   LTM  learning-to-misrank (Wang et al., CVPR 2020): make the farthest other-class image nearer
//        than the nearest same-class image. Loss: [max_{x: y_x != y} d(q~, x) - min_{x: y_x = y} d(q~, x)]_+.
//        Measure: Recall@1.
//   GTM  greedy top-1 misranking: find the clean top-1's class, then pull q~ towards the nearest
//        gallery image of any other class. Loss: d(q~, u). Measure: Recall@1.
//   GTT  greedy top-1 translocation: push the clean top-1 image m out of q~'s ranking with the QA-
//        objective (ranking.ts) and m as the candidate. Measure: the share of queries whose
//        attacked top-4 still holds m (RobRank's retain@4).
import * as T from '../torch/index.js';
import { F, noGrad, tidy, type Tensor } from '../torch/index.js';
import type { PreparedAttack, QueryBatch, SuiteOptions } from './attack.js';
import type { CleanGallery } from './gallery.js';
import type { AttackGoal } from './pgd.js';
import { rankingObjective, unitDistance } from './ranking.js';
import { randomRows } from './targets.js';

/** GTT counts the clean top-1 as kept while it stays among this many nearest rows (RobRank's retain@4). */
export const GTT_RETAIN_K = 4;

/** Bool [b, Ng] from a host predicate on (query i, gallery row). */
function hostMask(gallery: CleanGallery, rows: number, test: (i: number, row: number) => boolean): Tensor {
  const width = gallery.size;
  const bytes = new Uint8Array(rows * width);
  for (let i = 0; i < rows; i++) for (let r = 0; r < width; r++) if (test(i, r)) bytes[i * width + r] = 1;
  return T.tensor(bytes, [rows, width], { dtype: 'bool', device: gallery.device });
}

/** TMA: 1 - cos(q~, t) per query, averaged; `targets` are [b, D] unit gallery rows. */
export function mismatchObjective(targets: Tensor): (embeddings: Tensor) => Tensor {
  return (embeddings) => tidy(() => F.l2Normalize(embeddings, 1).mul(targets).sum(1).neg().add(1).mean());
}

/** TMA's measure: cos(q~, t) per query. */
export function cosineToTargets(attacked: Tensor, targets: Tensor): Float64Array {
  return noGrad(() => tidy(() => Float64Array.from(F.l2Normalize(attacked.detach(), 1).mul(targets).sum(1).toNumbers())));
}

/**
 * LTM: per query [max over other-class rows of d - min over same-class rows of d]_+, averaged. A
 * query without same-class (or other-class) rows contributes 0. The masks are tensors of the
 * caller's scope.
 */
export function misrankObjective(gallery: CleanGallery, labels: Int32Array, ownRows: Int32Array): (embeddings: Tensor) => Tensor {
  const b = labels.length;
  // Built once (in the caller's scope), used at every PGD iteration.
  const notPositive = hostMask(gallery, b, (i, row) => row === ownRows[i] || gallery.labels[row] !== labels[i]);
  const notNegative = hostMask(gallery, b, (i, row) => gallery.labels[row] === labels[i]);
  return (embeddings) =>
    tidy(() => {
      const d = unitDistance(F.l2Normalize(embeddings, 1).mm(gallery.embeddings.t())); // [b, Ng]
      const farthestNegative = d.maskedFill(notNegative, -Infinity).maxDim(1).values;
      const nearestPositive = d.maskedFill(notPositive, Infinity).minDim(1).values;
      const gap = farthestNegative.sub(nearestPositive);
      // Rows without positives or negatives give -inf: their term is 0 and carries no gradient.
      return T.where(gap.isfinite(), gap, T.zerosLike(gap)).relu().mean();
    });
}

/**
 * GTM's targets: per query, the nearest gallery row (own copy excluded) whose class differs from
 * the class of its clean top-1 row. -1 where every other row has the top-1's class.
 */
export function nearestOtherThanTop1(gallery: CleanGallery, clean: Tensor, ownRows: Int32Array): Int32Array {
  const b = ownRows.length;
  const top1 = gallery.nearest(clean, ownRows);
  return noGrad(() =>
    tidy(() => {
      const excluded = hostMask(gallery, b, (i, row) => row === ownRows[i] || gallery.labels[row] === gallery.labels[top1[i]!]);
      const s = clean.detach().mm(gallery.embeddings.t()).maskedFill(excluded, -Infinity);
      const best = s.maxDim(1);
      const rows = best.indices.toNumbers();
      const found = best.values.isfinite().toNumbers();
      return Int32Array.from(rows, (row, i) => (found[i] ? row : -1));
    }),
  );
}

/** GTM: mean_i d(q~_i, u_i) over queries with a target (u = -1: no term). */
export function towardsRowsObjective(gallery: CleanGallery, rows: Int32Array): (embeddings: Tensor) => Tensor {
  const valid = Float32Array.from(rows, (r) => (r >= 0 ? 1 : 0));
  const safe = Int32Array.from(rows, (r) => Math.max(r, 0));
  return (embeddings) =>
    tidy(() => {
      const targets = gallery.rows(safe);
      const keep = T.tensor(valid, [valid.length], { device: gallery.device });
      const d = unitDistance(F.l2Normalize(embeddings, 1).mul(targets).sum(1));
      return d.mul(keep).sum().div(Math.max(1, valid.reduce((a, v) => a + v, 0)));
    });
}

/** GTT's measure: 1 where row `kept[i]` is among the `k` nearest rows of attacked query i (own copy excluded). */
export function retainedInTopK(gallery: CleanGallery, attacked: Tensor, ownRows: Int32Array, kept: Int32Array, k: number): Float64Array {
  const width = Math.min(k, gallery.size - 1);
  const nearest = gallery.nearestK(attacked, ownRows, width);
  return Float64Array.from(kept, (row, i) => {
    for (let j = 0; j < width; j++) if (nearest[i * width + j] === row) return 1;
    return 0;
  });
}

const minimise = (loss: (embeddings: Tensor) => Tensor): AttackGoal => ({ kind: 'objective', loss, direction: 'minimise' });

/** TMA on one batch: RobRank draws the target uniformly from the whole gallery; the query's own copy is skipped. */
export function prepareTma(batch: QueryBatch, gallery: CleanGallery, options: SuiteOptions): PreparedAttack {
  const targets = gallery.rows(randomRows(gallery, batch.ownRows, batch.ids, 1, options.seed, 'tma'));
  return { goal: minimise(mismatchObjective(targets)), measure: (attacked) => ({ cosine: cosineToTargets(attacked, targets) }) };
}

/** LTM on one batch: measured by Recall@1 alone. */
export function prepareLtm(batch: QueryBatch, gallery: CleanGallery): PreparedAttack {
  return { goal: minimise(misrankObjective(gallery, batch.labels, batch.ownRows)), measure: () => ({}) };
}

/** GTM on one batch: measured by Recall@1 alone. */
export function prepareGtm(batch: QueryBatch, gallery: CleanGallery): PreparedAttack {
  return { goal: minimise(towardsRowsObjective(gallery, nearestOtherThanTop1(gallery, batch.clean, batch.ownRows))), measure: () => ({}) };
}

/** GTT on one batch: the clean top-1 pushed out with the QA- objective; measured by retain@4. */
export function prepareGtt(batch: QueryBatch, gallery: CleanGallery): PreparedAttack {
  const top1 = gallery.nearest(batch.clean, batch.ownRows);
  const p = { attack: 'qa-' as const, partners: top1, perImage: 1, ownRows: batch.ownRows };
  return {
    goal: minimise(rankingObjective(gallery, p)),
    measure: (attacked) => ({ retained: retainedInTopK(gallery, attacked, batch.ownRows, top1, GTT_RETAIN_K) }),
  };
}
