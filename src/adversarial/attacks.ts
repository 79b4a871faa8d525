// The test-time attack suite: names, what each one optimises, and what it measures afterwards.
//   stax        towards the clean embedding of a random test image of another class (T = 1)
//   mtax        towards T such images at once (the targeted objective of pgd.ts with T sets)
//   untargeted  away from the query's own clean embedding
//   fgsm        the untargeted objective, one signed step of size eps, no random start
//   ca+ / ca- / qa+ / qa-   the ranking attacks (ranking.ts)
//   es          embedding shift: the untargeted objective, reported as ES:D (shift) and ES:R (Recall@1)
//   tma / ltm / gtm / gtt   RobRank's misranking attacks (misranking.ts)
import * as T from '../torch/index.js';
import { noGrad, tidy, type Tensor } from '../torch/index.js';
import type { CleanGallery } from './gallery.js';
import type { AttackGoal } from './pgd.js';
import { cosineToTargets, mismatchObjective, misrankObjective, nearestOtherThanTop1, retainedInTopK, towardsRowsObjective } from './misranking.js';
import { rankingObjective, rankPercentiles, type RankingAttack } from './ranking.js';
import type { ErsComponent } from './scores.js';
import { otherClassTargets, randomRows, rowsFromTop, topPoolSize } from './targets.js';

export const ATTACK_NAMES = ['stax', 'mtax', 'untargeted', 'fgsm', 'ca+', 'ca-', 'qa+', 'qa-', 'es', 'tma', 'ltm', 'gtm', 'gtt'] as const;
export type AttackName = (typeof ATTACK_NAMES)[number];

/** The facts of one attack that planning, running and reporting need. */
export interface AttackDescriptor {
  readonly name: AttackName;
  /** What it does, in a line. */
  readonly summary: string;
  /** One signed step of size eps from the clean input, whatever iterations were asked for. */
  readonly singleStep: boolean;
  /**
   * What it reports besides retrieval metrics: a success rate, a rank percentile, the cosine to
   * its target (TMA) or the share of clean top-1 rows kept in the top 4 (GTT).
   */
  readonly measures: 'success_rate' | 'rank' | 'cosine' | 'retain' | null;
  /** The components of the empirical robustness score it provides. */
  readonly ers: readonly ErsComponent[];
}

const attack = (name: AttackName, summary: string, extra: Partial<AttackDescriptor> = {}): AttackDescriptor => ({ name, summary, singleStep: false, measures: null, ers: [], ...extra });

export const ATTACKS: Readonly<Record<AttackName, AttackDescriptor>> = {
  stax: attack('stax', 'towards one random other-class gallery image (Recall@1, success rate)', { measures: 'success_rate' }),
  mtax: attack('mtax', 'towards T random other-class gallery images at once', { measures: 'success_rate' }),
  untargeted: attack('untargeted', "away from the query's own clean embedding"),
  fgsm: attack('fgsm', 'the untargeted objective, one signed step of size eps', { singleStep: true }),
  'ca+': attack('ca+', 'candidate attack: raise random candidates in the queries’ rankings', { measures: 'rank', ers: ['CA+'] }),
  'ca-': attack('ca-', 'candidate attack: sink top candidates out of the rankings', { measures: 'rank', ers: ['CA-'] }),
  'qa+': attack('qa+', 'query attack: raise random candidates in the query’s ranking', { measures: 'rank', ers: ['QA+'] }),
  'qa-': attack('qa-', 'query attack: sink the top candidates of the query’s ranking', { measures: 'rank', ers: ['QA-'] }),
  es: attack('es', 'embedding shift: the untargeted objective, reported as ES:D and ES:R', { ers: ['ES:D', 'ES:R'] }),
  tma: attack('tma', 'targeted mismatch: towards one random gallery embedding (cosine to it)', { measures: 'cosine', ers: ['TMA'] }),
  ltm: attack('ltm', 'learning-to-misrank: other classes nearer than the nearest same-class image (Recall@1)', { ers: ['LTM'] }),
  gtm: attack('gtm', "greedy top-1 misranking: towards the nearest image outside the top-1's class (Recall@1)", { ers: ['GTM'] }),
  gtt: attack('gtt', 'greedy top-1 translocation: the clean top-1 out of the ranking (kept in top 4)', { measures: 'retain', ers: ['GTT'] }),
};

/** GTT counts the clean top-1 as kept while it stays among this many nearest rows (RobRank's retain@4). */
export const GTT_RETAIN_K = 4;

export function isAttackName(name: string): name is AttackName {
  return (ATTACK_NAMES as readonly string[]).includes(name);
}

/** The iterations an attack runs when `iters` were asked for. */
export function attackIters(name: AttackName, iters: number): number {
  return ATTACKS[name].singleStep ? 1 : iters;
}

/** Attacks steered towards other classes: they report a success rate. */
export function isTargetedAttack(name: AttackName): name is 'stax' | 'mtax' {
  return ATTACKS[name].measures === 'success_rate';
}

export function isRankingAttack(name: AttackName): name is RankingAttack {
  return ATTACKS[name].measures === 'rank';
}

export interface SuiteOptions {
  /** Target sets of mtax (default 5). */
  mtaxTargets: number;
  /** W queries per candidate (CA) and M candidates per query (QA); RobRank's ERS uses 1. */
  rankPartners: number;
  /** The share of the ranking CA- and QA- draw their partners from (RobRank: 0.01). */
  topFraction: number;
  seed: number;
}

/** One batch of queries: images are attacked, labels and ids only steer and measure. */
export interface QueryBatch {
  images: Tensor;
  /** Clean embeddings of `images` [b, D]. */
  clean: Tensor;
  labels: Int32Array;
  /** Query ids (positions in the query split): the keys of their random streams. */
  ids: Int32Array;
  /** Gallery row of each query's clean copy, -1 if it has none. */
  ownRows: Int32Array;
}

/** What one attacked batch achieved, per query. */
export interface BatchOutcome {
  /** Targeted attacks: 1 when the nearest gallery image has a target's class. */
  success?: Float64Array;
  /** Ranking attacks: the rank percentile in [0, 1]. */
  rank?: Float64Array;
  /** TMA: the cosine similarity to the target. */
  cosine?: Float64Array;
  /** GTT: 1 when the clean top-1 row is still among the nearest GTT_RETAIN_K. */
  retained?: Float64Array;
}

export interface PreparedAttack {
  goal: AttackGoal;
  /** Measures the attacked embeddings [b, D]. */
  measure(attacked: Tensor): BatchOutcome;
}

/** Builds the goal of `name` for one batch; tensors it makes belong to the caller's scope. */
export function prepareAttack(name: AttackName, batch: QueryBatch, gallery: CleanGallery, options: SuiteOptions): PreparedAttack {
  if (isTargetedAttack(name)) return targeted(name === 'stax' ? 1 : options.mtaxTargets, batch, gallery, options.seed);
  if (isRankingAttack(name)) return ranking(name, batch, gallery, options);
  if (name === 'tma' || name === 'ltm' || name === 'gtm' || name === 'gtt') return misranking(name, batch, gallery, options);
  if (name === 'es') return { goal: { kind: 'untargeted', clean: batch.clean, ...RR_ES_OFFSETS }, measure: () => ({}) };
  return { goal: { kind: 'untargeted', clean: offsetReference(batch.clean) }, measure: () => ({}) };
}

/**
 * ES as RobRank's code runs it: its attack has no random start, and ||f(x) - e|| has no gradient
 * at x itself, so the reference is e + 1e-7 in every coordinate in the first iteration and e after
 * (advrank.py); its distance, torch's pairwise_distance, adds 1e-6 to every difference.
 */
const RR_ES_OFFSETS = { firstOffset: 1e-7, differenceOffset: 1e-6 };

/**
 * mdprop's own untargeted attack (and FGSM): the objective ||f(x) - e|| has a zero gradient at the
 * clean input, so a step without a random start would not move. The reference embedding is offset
 * by a tiny seeded noise in every iteration, which gives the first step a direction and moves the
 * objective by about 1e-4 against shifts of order 0.1-1.
 */
function offsetReference(clean: Tensor): Tensor {
  return noGrad(() => clean.add(T.uniform([...clean.shape], -1e-4, 1e-4, { device: clean.device })));
}

function targeted(count: number, batch: QueryBatch, gallery: CleanGallery, seed: number): PreparedAttack {
  const b = batch.labels.length;
  const rows = otherClassTargets(gallery, batch.labels, batch.ids, count, seed);
  const targets = noGrad(() =>
    tidy(() => {
      const all = gallery.rows(rows).view([b, count, -1]);
      return Array.from({ length: count }, (_, j) => all.select(1, j).contiguous());
    }),
  );
  return {
    goal: { kind: 'targeted', targets },
    measure(attacked) {
      const nearest = gallery.nearest(attacked, batch.ownRows);
      return {
        success: Float64Array.from(nearest, (row, i) => {
          const label = gallery.labels[row];
          for (let j = 0; j < count; j++) if (gallery.labels[rows[i * count + j]!] === label) return 1;
          return 0;
        }),
      };
    },
  };
}

function ranking(attack: RankingAttack, batch: QueryBatch, gallery: CleanGallery, options: SuiteOptions): PreparedAttack {
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

function misranking(name: 'tma' | 'ltm' | 'gtm' | 'gtt', batch: QueryBatch, gallery: CleanGallery, options: SuiteOptions): PreparedAttack {
  const minimise = (loss: (embeddings: Tensor) => Tensor): AttackGoal => ({ kind: 'objective', loss, direction: 'minimise' });
  switch (name) {
    case 'tma': {
      // RobRank draws the target uniformly from the whole gallery; the query's own copy is skipped.
      const targets = gallery.rows(randomRows(gallery, batch.ownRows, batch.ids, 1, options.seed, 'tma'));
      return { goal: minimise(mismatchObjective(targets)), measure: (attacked) => ({ cosine: cosineToTargets(attacked, targets) }) };
    }
    case 'ltm':
      return { goal: minimise(misrankObjective(gallery, batch.labels, batch.ownRows)), measure: () => ({}) };
    case 'gtm':
      return { goal: minimise(towardsRowsObjective(gallery, nearestOtherThanTop1(gallery, batch.clean, batch.ownRows))), measure: () => ({}) };
    case 'gtt': {
      const top1 = gallery.nearest(batch.clean, batch.ownRows);
      const p = { attack: 'qa-' as const, partners: top1, perImage: 1, ownRows: batch.ownRows };
      return {
        goal: minimise(rankingObjective(gallery, p)),
        measure: (attacked) => ({ retained: retainedInTopK(gallery, attacked, batch.ownRows, top1, GTT_RETAIN_K) }),
      };
    }
  }
}
