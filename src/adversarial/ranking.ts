// The ranking attacks of Zhou et al. ("Adversarial Ranking Attack and Defense", ECCV 2020; RobRank,
// "Adversarial Attack and Defense in Deep Ranking"), on L2-normalised embeddings with Euclidean
// distance d, against the clean gallery X. What we implement:
//   CA+ / CA- (candidate attack): the attacked image c~ is a candidate; W queries q (clean gallery
//     images; CA+: uniformly drawn, CA-: drawn from c's top 1% neighbours) should rank it higher
//     (CA+) or lower (CA-). Loss, minimised:
//       CA+: mean_{q, x} [d(q, c~) - d(q, x)]_+        CA-: mean_{q, x} [d(q, x) - d(q, c~)]_+
//     Measure: the rank percentile of c~ in q's ranking of X, mean over the W queries:
//       |{x in X \ {q, c}: d(q, x) < d(q, c~)}| / |X \ {q, c}|   (CA+ lowers it, CA- raises it).
//   QA+ / QA- (query attack): the attacked image q~ is a query; M gallery candidates c (QA+:
//     uniformly drawn, QA-: drawn from q's top 1%) should rise (QA+) or fall (QA-) in its ranking.
//       QA+: mean_{c, x} [d(q~, c) - d(q~, x)]_+        QA-: mean_{c, x} [d(q~, x) - d(q~, c)]_+
//     Measure: |{x in X \ {q, c}: d(q~, x) < d(q~, c)}| / |X \ {q, c}|, mean over the M candidates.
// Here "q" / "c" in X \ {q, c} means the clean gallery copies of the attacked image and of the
// partner, which a ranking never counts (a query does not retrieve itself).
// ES (embedding shift) is the untargeted objective; its measures are the mean shift ||f(x~) - f(x)||
// (ES:D) and Recall@1 of the shifted queries (ES:R).
import { noGrad, tidy, type Tensor } from '../torch/index.js';
import type { PreparedAttack, QueryBatch, SuiteOptions } from './attack.js';
import type { CleanGallery } from './gallery.js';
import { randomRows, rowsFromTop, topPoolSize } from './targets.js';

export type RankingAttack = 'ca+' | 'ca-' | 'qa+' | 'qa-';

/** Euclidean distance of unit vectors from their inner product: sqrt(2 - 2 s), kept off 0 so it differentiates. */
export function unitDistance(innerProduct: Tensor): Tensor {
  return innerProduct.mul(-2).add(2).clampMin(1e-12).sqrt();
}

export interface RankingPartners {
  attack: RankingAttack;
  /** Row-major [b, P]: the gallery rows of each attacked image's partners (CA: queries, QA: candidates). */
  partners: Int32Array;
  perImage: number;
  /** Gallery row of each attacked image's clean copy, -1 if it has none. */
  ownRows: Int32Array;
}

/** Bool [b * P, Ng] or [b, Ng]: what a ranking ignores, the attacked image's copy and the partner. */
function ignoredColumns(gallery: CleanGallery, p: RankingPartners, repeat: boolean): Tensor {
  const b = p.ownRows.length;
  const rows = repeat ? b * p.perImage : b;
  const own = Int32Array.from({ length: rows }, (_, r) => p.ownRows[repeat ? Math.floor(r / p.perImage) : r]!);
  return gallery.mask(rows, repeat ? [own, p.partners] : [own]);
}

/**
 * The differentiable ranking loss of attacked embeddings [b, D] (minimised by the attack). The
 * gallery side is constant; partners' distances to the gallery are computed once per call.
 */
export function rankingObjective(gallery: CleanGallery, p: RankingPartners): (embeddings: Tensor) => Tensor {
  const b = p.ownRows.length;
  const k = p.perImage;
  const candidateAttack = p.attack === 'ca+' || p.attack === 'ca-';
  const raise = p.attack === 'ca+' || p.attack === 'qa+';
  return (embeddings: Tensor) =>
    tidy(() => {
      const partners = gallery.rows(p.partners).view([b, k, -1]);
      const toPartner = unitDistance(partners.mul(embeddings.unsqueeze(1)).sum(2)).unsqueeze(2); // [b, k, 1]
      // CA: distances of each query to the gallery (constant); QA: of the attacked query (varies).
      const toGallery = candidateAttack
        ? noGrad(() => unitDistance(partners.view([b * k, -1]).mm(gallery.embeddings.t())).view([b, k, -1]))
        : unitDistance(embeddings.mm(gallery.embeddings.t())).unsqueeze(1);
      const hinge = (raise ? toPartner.sub(toGallery) : toGallery.sub(toPartner)).relu(); // [b, k, Ng]
      const keep = ignoredColumns(gallery, p, true).logicalNot().view([b, k, -1]).to(hinge.dtype);
      return hinge.mul(keep).sum().div(keep.sum().clampMin(1));
    });
}

/** Per attacked image: its mean rank percentile in [0, 1] (see the header), from attacked embeddings [b, D]. */
export function rankPercentiles(gallery: CleanGallery, p: RankingPartners, attacked: Tensor): Float64Array {
  const b = p.ownRows.length;
  const k = p.perImage;
  const candidateAttack = p.attack === 'ca+' || p.attack === 'ca-';
  return noGrad(() =>
    tidy(() => {
      const partners = gallery.rows(p.partners).view([b, k, -1]);
      const e = attacked.detach();
      const pair = partners.mul(e.unsqueeze(1)).sum(2).view([b * k, 1]); // similarity of each (image, partner)
      // Whose ranking: the partner query's (CA) or the attacked query's (QA), over the gallery.
      const ranking = candidateAttack ? partners.view([b * k, -1]).mm(gallery.embeddings.t()) : e.mm(gallery.embeddings.t()).repeat([1, k]).view([b * k, -1]);
      const ignored = ignoredColumns(gallery, p, true);
      const above = ranking.gt(pair).logicalAnd(ignored.logicalNot()).sum(1).to('float64');
      const counted = ignored.logicalNot().sum(1).to('float64').clampMin(1);
      const percentile = above.div(counted).view([b, k]).mean(1);
      return Float64Array.from(percentile.toNumbers());
    }),
  );
}

/** A ranking attack on one batch: its partners (CA+/QA+ drawn at random, CA-/QA- from the clean top of the ranking), its objective and its measure. */
export function prepareRanking(attack: RankingAttack, batch: QueryBatch, gallery: CleanGallery, options: SuiteOptions): PreparedAttack {
  const count = options.rankPartners;
  let partners: Int32Array;
  if (attack === 'ca+' || attack === 'qa+') {
    partners = randomRows(gallery, batch.ownRows, batch.ids, count, options.seed, attack);
  } else {
    const pool = topPoolSize(gallery.size, options.topFraction);
    partners = rowsFromTop(gallery.nearestK(batch.clean, batch.ownRows, pool), pool, batch.ids, count, options.seed, attack);
  }
  const p = { attack, partners, perImage: count, ownRows: batch.ownRows };
  return {
    goal: { kind: 'objective', loss: rankingObjective(gallery, p), direction: 'minimise' },
    measure: (attacked) => ({ rank: rankPercentiles(gallery, p, attacked) }),
  };
}
