// What an attack of the test-time suite is: one entry of the table in attacks.ts, which says what
// it does and measures and holds the function that builds its goal for a batch of queries.
import type { Tensor } from '../torch/index.js';
import type { CleanGallery } from './gallery.js';
import type { AttackGoal } from './pgd.js';
import type { ErsComponent } from './scores.js';

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

/** Builds an attack's goal for one batch; tensors it makes belong to the caller's scope. */
export type PrepareAttack = (batch: QueryBatch, gallery: CleanGallery, options: SuiteOptions) => PreparedAttack;

/** One attack: what it does, how it runs, what it reports, and its function. */
export interface AttackDescriptor {
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
  readonly prepare: PrepareAttack;
}
