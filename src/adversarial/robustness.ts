// Measuring robustness: the clean queries, then the attack conditions over the same queries in the
// same batches, each query retrieved from the clean gallery. Every condition (an attack at a budget
// and an iteration count) attacks a batch while it is loaded, after one clean forward they all
// share. Conditions may also share PGD passes: their adversarial images go through the model as
// one batch per iteration (each row still gets its own attack's gradient, see featurePgdJoint).
// That pays where per-op overhead dominates (a GPU); on a CPU the larger working set made it
// slower (bench/joint-pgd.js), so there conditions take one pass each unless asked otherwise. A
// condition repeating an earlier one is not attacked again. The attacked embeddings of a condition
// are gathered on the host and measured at the end.
import { Random } from '../data/index.js';
import * as T from '../torch/index.js';
import { noGrad, tidy, type Tensor } from '../torch/index.js';
import type { SuiteOptions } from './attack.js';
import { ATTACKS, isTargetedAttack, isRankingAttack, prepareAttack, type AttackName } from './attacks.js';
import { budgetInInputUnits, scaleAmount, smallestAmount, type Budget } from './budget.js';
import type { CleanGallery } from './gallery.js';
import { featurePgdJoint, withRandomStart, type EmbedFn, type InputRange, type PgdOptions } from './pgd.js';
import type { MetricValues } from '../dml/index.js';
import { galleryMetrics, type GalleryClusters } from './robust-metrics.js';

/** One attack setting of an evaluation: an attack at a budget and an iteration count. */
export interface AttackCondition {
  attack: AttackName;
  budget: Budget;
  /** PGD iterations (single-step attacks such as FGSM take one, see attackIters). */
  iters: number;
}

export interface PgdSettings {
  norm: 'linf' | 'l2';
  /** Step per iteration; default 2.5 eps / iters (Madry et al.), FGSM: eps. */
  stepSize?: Budget;
  /** Half-width of the uniform random start in input units, or 'eps' for the budget (the smallest channel's). */
  randomStart: number | 'eps';
  /** The valid box of normalized inputs (pixel 0..1 per channel). */
  range: InputRange;
  /** Per-channel std of the normalization, to turn pixel budgets into input units. */
  std: readonly number[];
}

/** One batch of query images as the data layer delivers them. */
export interface ImageBatch {
  /** NCHW float32, normalized. */
  images: Float32Array;
  shape: readonly [number, number, number, number];
  /** Positions of the batch's queries in the query set (0..size-1). */
  positions: Int32Array;
}

export interface QuerySource {
  size: number;
  labels: Int32Array;
  /** Per query: the id its random streams are keyed by (its index in the split). */
  ids: Int32Array;
  /** Per query: the gallery row of its clean copy, -1 if none. */
  ownRows: Int32Array;
  /** The queries in batches, the same batches on every call. */
  batches(): AsyncIterable<ImageBatch>;
}

/** What a condition (null: the clean queries) measured. */
export interface ConditionResult {
  condition: AttackCondition | null;
  metrics: MetricValues;
  /** Targeted attacks: share of queries whose nearest gallery image has a target's class. */
  successRate?: number;
  /** Ranking attacks: mean rank percentile in [0, 1]. */
  rank?: number;
  /** TMA: mean cosine of the attacked queries to their targets. */
  cosine?: number;
  /** GTT: share of queries whose clean top-1 row stays among the nearest 4. */
  retain?: number;
  /** Mean ||f(x~) - f(x)|| (ES:D for es). */
  embeddingShift: number;
  /** Largest |x~ - x| of any input value, in normalized-input units. */
  maxPerturbation: number;
  /** Per query (in query order): 1 when its nearest gallery image (own copy excluded) has its class. */
  hits: Uint8Array;
}

export interface RobustnessOptions {
  embed: EmbedFn;
  device: string;
  gallery: CleanGallery;
  clusters: GalleryClusters;
  queries: QuerySource;
  pgd: PgdSettings;
  suite: SuiteOptions;
  ks: readonly number[];
  /**
   * At most this many conditions share one PGD pass (1: one at a time). Default: 1 on a CPU;
   * on a GPU as many as keep a pass within JOINT_INPUT_VALUES input values.
   */
  conditionsPerPass?: number;
  /** After each batch: the condition (null = clean), queries done in it and in total. */
  onProgress?: (condition: AttackCondition | null, done: number, total: number) => void;
}

/** The PGD options of one condition (budgets checked with checkBudgetNorm). */
export function pgdOptionsFor(condition: AttackCondition, settings: PgdSettings): PgdOptions {
  const eps = budgetInInputUnits(condition.budget, settings.std);
  if (ATTACKS[condition.attack].singleStep) return { eps, iters: 1, stepSize: eps, randomStart: 0, norm: settings.norm, range: settings.range };
  const stepSize = settings.stepSize ? budgetInInputUnits(settings.stepSize, settings.std) : scaleAmount(eps, 2.5 / Math.max(condition.iters, 1));
  const randomStart = settings.randomStart === 'eps' ? smallestAmount(eps) : settings.randomStart;
  return { eps, iters: condition.iters, stepSize, randomStart, norm: settings.norm, range: settings.range };
}

/**
 * A seed for libtorch's generator per condition and batch: a condition's random draws (starts,
 * offsets) depend neither on the order conditions are made in nor on which share its passes.
 */
function batchSeed(condition: AttackCondition, seed: number, batchIndex: number): number {
  return new Random(seed, 'pgd', condition.attack, condition.budget.text, condition.iters, batchIndex).nextUint32();
}

/** Input values (images x channels x pixels) that one joint attack pass may hold on a GPU: 2^21, 8 MB of float32. */
export const JOINT_INPUT_VALUES = 2 ** 21;

/** What one condition gathers over the batches. */
class Tally {
  rows: Float32Array | null = null;
  readonly success: Float64Array;
  readonly rank: Float64Array;
  readonly cosine: Float64Array;
  readonly retained: Float64Array;
  readonly hits: Uint8Array;
  shiftSum = 0;
  maxPerturbation = 0;
  done = 0;

  constructor(readonly size: number) {
    this.success = new Float64Array(size);
    this.rank = new Float64Array(size);
    this.cosine = new Float64Array(size);
    this.retained = new Float64Array(size);
    this.hits = new Uint8Array(size);
  }

  /** Records one batch's (attacked) embeddings: nearest gallery hits and the rows themselves. */
  add(batch: ImageBatch, embeddings: Tensor, queries: QuerySource, gallery: CleanGallery): void {
    const labels = Int32Array.from(batch.positions, (p) => queries.labels[p]!);
    const own = Int32Array.from(batch.positions, (p) => queries.ownRows[p]!);
    gallery.nearest(embeddings, own).forEach((row, i) => (this.hits[batch.positions[i]!] = gallery.labels[row] === labels[i] ? 1 : 0));
    const values = noGrad(() => embeddings.to('cpu').contiguous().toFloat32Array());
    const dim = values.length / batch.positions.length;
    this.rows ??= new Float32Array(this.size * dim);
    batch.positions.forEach((p, i) => this.rows!.set(values.subarray(i * dim, (i + 1) * dim), p * dim));
    this.done += batch.positions.length;
  }

  result(condition: AttackCondition | null, options: RobustnessOptions): ConditionResult {
    const { queries, gallery } = options;
    if (this.rows === null || this.done !== queries.size) throw new Error(`robustness evaluation: the query batches covered ${this.done} of ${queries.size} queries`);
    const filled = this.rows;
    const metrics = tidy(() => {
      const embeddings = T.tensor(filled, [queries.size, filled.length / queries.size]);
      return galleryMetrics({ embeddings, labels: queries.labels, ownRows: queries.ownRows }, gallery, options.clusters, options.ks);
    });
    const result: ConditionResult = { condition, metrics, embeddingShift: this.shiftSum / queries.size, maxPerturbation: this.maxPerturbation, hits: this.hits };
    const attack = condition?.attack;
    if (attack && isTargetedAttack(attack)) result.successRate = mean(this.success);
    if (attack && isRankingAttack(attack)) result.rank = mean(this.rank);
    if (attack && ATTACKS[attack].measures === 'cosine') result.cosine = mean(this.cosine);
    if (attack && ATTACKS[attack].measures === 'retain') result.retain = mean(this.retained);
    return result;
  }
}

/** Embeds the clean queries and measures them as every condition is measured. */
export async function measureClean(options: RobustnessOptions): Promise<ConditionResult> {
  const tally = new Tally(options.queries.size);
  for await (const batch of options.queries.batches()) {
    tidy(() => {
      const images = T.tensor(batch.images, [...batch.shape], { device: options.device });
      tally.add(batch, noGrad(() => options.embed(images)), options.queries, options.gallery);
    });
    options.onProgress?.(null, tally.done, options.queries.size);
  }
  return tally.result(null, options);
}

/** Attacks the queries under one condition and measures the result (measureAttacks with one condition). */
export async function measureCondition(condition: AttackCondition, options: RobustnessOptions): Promise<ConditionResult> {
  return (await measureAttacks([condition], options))[0]!;
}

/** The identity of a condition's result: conditions with the same key give the same numbers. */
const conditionKey = (c: AttackCondition) => `${c.attack}|${c.budget.text}|${c.iters}`;

/**
 * Attacks the queries under every condition, batch by batch, conditions sharing PGD passes (see the
 * header), and measures each. A condition that repeats an earlier one (same attack, budget and
 * iterations) reuses its result.
 */
export async function measureAttacks(conditions: readonly AttackCondition[], options: RobustnessOptions): Promise<ConditionResult[]> {
  const { queries } = options;
  const perPass = options.conditionsPerPass;
  if (perPass !== undefined && (!Number.isInteger(perPass) || perPass < 1)) throw new RangeError(`conditionsPerPass must be a positive integer, got ${perPass}`);
  const firstOf = conditions.map((c) => conditions.findIndex((d) => conditionKey(d) === conditionKey(c)));
  const distinct = conditions.filter((_, i) => firstOf[i] === i);
  const pgds = distinct.map((c) => pgdOptionsFor(c, options.pgd));
  const tallies = distinct.map(() => new Tally(queries.size));
  let batchIndex = 0;
  for await (const batch of queries.batches()) {
    tidy(() => attackBatch(batch, batchIndex, distinct, pgds, tallies, options));
    batchIndex++;
    for (const [i, c] of distinct.entries()) options.onProgress?.(c, tallies[i]!.done, queries.size);
  }
  const results = distinct.map((c, i) => tallies[i]!.result(c, options));
  return conditions.map((_, i) => results[distinct.indexOf(conditions[firstOf[i]!]!)]!);
}

/** All conditions on one batch of queries: goals and random starts condition by condition, then the joint PGD passes. */
function attackBatch(batch: ImageBatch, batchIndex: number, list: readonly AttackCondition[], pgds: readonly PgdOptions[], tallies: readonly Tally[], options: RobustnessOptions): void {
  const { queries, gallery } = options;
  const pick = (all: Int32Array): Int32Array => Int32Array.from(batch.positions, (p) => all[p]!);
  const images = T.tensor(batch.images, [...batch.shape], { device: options.device });
  const clean = noGrad(() => options.embed(images));
  const query = { images, clean, labels: pick(queries.labels), ids: pick(queries.ids), ownRows: pick(queries.ownRows) };
  const conditions = list.map((condition, i) => {
    T.manualSeed(batchSeed(condition, options.suite.seed, batchIndex));
    const prepared = prepareAttack(condition.attack, query, gallery, options.suite);
    return { prepared, pgd: withRandomStart(images, pgds[i]!) };
  });
  const finish = (i: number, adversarial: Tensor, attacked: Tensor) => {
    const tally = tallies[i]!;
    const outcome = conditions[i]!.prepared.measure(attacked);
    batch.positions.forEach((p, k) => {
      if (outcome.success) tally.success[p] = outcome.success[k]!;
      if (outcome.rank) tally.rank[p] = outcome.rank[k]!;
      if (outcome.cosine) tally.cosine[p] = outcome.cosine[k]!;
      if (outcome.retained) tally.retained[p] = outcome.retained[k]!;
    });
    tally.shiftSum += noGrad(() => attacked.sub(clean).norm(2, 1).sum().item());
    tally.maxPerturbation = Math.max(tally.maxPerturbation, noGrad(() => adversarial.sub(images).abs().max().item()));
    tally.add(batch, attacked, queries, gallery);
  };
  const perPass = options.conditionsPerPass ?? (options.device.startsWith('cuda') ? Math.max(1, Math.floor(JOINT_INPUT_VALUES / images.numel)) : 1);
  const all = list.map((_, i) => i);
  // Conditions share passes only with conditions of the same iteration count.
  for (const iters of new Set(all.map((i) => conditions[i]!.pgd.iters))) {
    const same = all.filter((i) => conditions[i]!.pgd.iters === iters);
    for (let start = 0; start < same.length; start += perPass) {
      const group = same.slice(start, start + perPass);
      tidy(() => {
        const adversarial = featurePgdJoint(options.embed, group.map((i) => ({ images, goal: conditions[i]!.prepared.goal, options: conditions[i]!.pgd })));
        const all = noGrad(() => options.embed(adversarial.length === 1 ? adversarial[0]! : T.cat(adversarial)));
        const parts = adversarial.length === 1 ? [all] : all.split(group.map(() => images.shape[0]!), 0);
        group.forEach((i, k) => finish(i, adversarial[k]!, parts[k]!));
      });
    }
  }
}

/** The clean queries, then every condition (sharing passes, see measureAttacks). */
export async function measureRobustness(conditions: readonly AttackCondition[], options: RobustnessOptions): Promise<{ clean: ConditionResult; conditions: ConditionResult[] }> {
  const clean = await measureClean(options);
  return { clean, conditions: await measureAttacks(conditions, options) };
}

function mean(values: Float64Array): number {
  let sum = 0;
  for (const v of values) sum += v;
  return values.length ? sum / values.length : 0;
}

