// Robustness evaluation: the clean queries, then the attack runs over the same queries in the same
// batches, each query retrieved from the clean gallery. Every run (attack, eps) attacks a batch
// while it is loaded, after one clean forward they all share. Runs may also share PGD passes:
// their adversarial images go through the model as one batch per iteration (each row still gets
// its own attack's gradient, see featurePgdJoint). That pays where per-op overhead dominates (a
// GPU); on a CPU the larger working set made it slower (bench/joint-pgd.js), so there runs take
// one pass each unless asked otherwise. Runs with a zero budget, or repeating an earlier run, are
// not attacked again. The attacked embeddings of a run are gathered on the host and measured at
// the end.
import { Random } from '../data/index.js';
import * as T from '../torch/index.js';
import { noGrad, tidy, type Tensor } from '../torch/index.js';
import { ATTACKS, isTargetedAttack, isRankingAttack, prepareAttack, type AttackName, type SuiteOptions } from './attacks.js';
import { budgetInInputUnits, scaleAmount, smallestAmount, type Budget } from './budget.js';
import type { CleanGallery } from './gallery.js';
import { drawStartNoise, featurePgdJointTrace, type EmbedFn, type InputRange, type PgdOptions } from './pgd.js';
import { retrievalMetrics, type GalleryClusters, type RetrievalMetrics } from './robust-metrics.js';

export interface AttackRun {
  attack: AttackName;
  budget: Budget;
  /** PGD iterations (single-step attacks such as FGSM take one, see attackIters). */
  iters: number;
}

export interface PgdSettings {
  norm: 'linf' | 'l2';
  /** Step per iteration; default 2.5 eps / iters (Madry et al.), FGSM: eps. */
  stepSize?: Budget;
  /** Half-width of the uniform random start in input units, or 'budget' for eps (the smallest channel's). */
  randomStart: number | 'budget';
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

export interface RunResult {
  run: AttackRun | null;
  metrics: RetrievalMetrics;
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
  /**
   * With `detect`: per auxiliary branch (in detect.branches order), per query, the distance
   * between the query's embedding through the model's branch and through that branch.
   */
  branchGaps?: Float64Array[];
}

/** What the detector needs: the auxiliary branches to compare with, and a forward through one of them. */
export interface DetectionOptions {
  branches: readonly number[];
  /** Embeddings of `images` through BN branch `branch` (eval mode, no gradients needed). */
  embedBranch: (images: Tensor, branch: number) => Tensor;
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
   * At most this many attack runs share one PGD pass (1: one run at a time). Default: 1 on a CPU;
   * on a GPU as many as keep a pass within JOINT_INPUT_VALUES input values.
   */
  conditionsPerPass?: number;
  /** After each batch: the run (null = clean), queries done in it and in total. */
  onProgress?: (run: AttackRun | null, done: number, total: number) => void;
  /** Also measure every query's branch gaps, clean and attacked (see detection.ts). */
  detect?: DetectionOptions;
}

/** The PGD options of one run. */
export function pgdOptionsFor(run: AttackRun, settings: PgdSettings): PgdOptions {
  const eps = budgetInInputUnits(run.budget, settings.std);
  if (settings.norm === 'l2' && (typeof eps !== 'number' || settings.stepSize?.unit === 'pixel')) {
    throw new RangeError(`an L2 attack takes budgets in normalized units (a plain number), got '${run.budget.text}'`);
  }
  if (ATTACKS[run.attack].singleStep) return { eps, iters: 1, stepSize: eps, randomStart: 0, norm: settings.norm, range: settings.range };
  const stepSize = settings.stepSize ? budgetInInputUnits(settings.stepSize, settings.std) : scaleAmount(eps, 2.5 / Math.max(run.iters, 1));
  const randomStart = settings.randomStart === 'budget' ? smallestAmount(eps) : settings.randomStart;
  return { eps, iters: run.iters, stepSize, randomStart, norm: settings.norm, range: settings.range };
}

/**
 * A seed for libtorch's generator per run and batch: a run's random draws (starts, offsets) depend
 * neither on the order runs are made in nor on which runs share its passes.
 */
function batchSeed(run: AttackRun, seed: number, batchIndex: number): number {
  return new Random(seed, 'pgd', run.attack, run.budget.text, run.iters, batchIndex).nextUint32();
}

/** Input values (images x channels x pixels) that one joint attack pass may hold on a GPU: 2^21, 8 MB of float32. */
export const JOINT_INPUT_VALUES = 2 ** 21;

/** What one run gathers over the batches. */
class Tally {
  rows: Float32Array | null = null;
  readonly success: Float64Array;
  readonly rank: Float64Array;
  readonly cosine: Float64Array;
  readonly retained: Float64Array;
  readonly hits: Uint8Array;
  readonly gaps: Float64Array[];
  shiftSum = 0;
  maxPerturbation = 0;
  done = 0;

  constructor(
    readonly size: number,
    readonly detect?: DetectionOptions,
  ) {
    this.success = new Float64Array(size);
    this.rank = new Float64Array(size);
    this.cosine = new Float64Array(size);
    this.retained = new Float64Array(size);
    this.hits = new Uint8Array(size);
    this.gaps = (detect?.branches ?? []).map(() => new Float64Array(size));
  }

  /** Records one batch's (attacked) embeddings: nearest gallery hits and the rows themselves; with detection, the branch gaps of `inputs`. */
  add(batch: ImageBatch, embeddings: Tensor, queries: QuerySource, gallery: CleanGallery, inputs?: Tensor): void {
    if (this.detect && inputs) {
      const detect = this.detect;
      detect.branches.forEach((branch, j) => {
        const gap = noGrad(() => embeddings.sub(detect.embedBranch(inputs, branch)).norm(2, 1).to('cpu').contiguous().toFloat32Array());
        batch.positions.forEach((p, i) => (this.gaps[j]![p] = gap[i]!));
      });
    }
    const labels = Int32Array.from(batch.positions, (p) => queries.labels[p]!);
    const own = Int32Array.from(batch.positions, (p) => queries.ownRows[p]!);
    gallery.nearest(embeddings, own).forEach((row, i) => (this.hits[batch.positions[i]!] = gallery.labels[row] === labels[i] ? 1 : 0));
    const values = noGrad(() => embeddings.to('cpu').contiguous().toFloat32Array());
    const dim = values.length / batch.positions.length;
    this.rows ??= new Float32Array(this.size * dim);
    batch.positions.forEach((p, i) => this.rows!.set(values.subarray(i * dim, (i + 1) * dim), p * dim));
    this.done += batch.positions.length;
  }

  result(run: AttackRun | null, options: RobustnessOptions): RunResult {
    const { queries, gallery } = options;
    if (this.rows === null || this.done !== queries.size) throw new Error(`robustness evaluation: the query batches covered ${this.done} of ${queries.size} queries`);
    const filled = this.rows;
    const metrics = tidy(() => {
      const embeddings = T.tensor(filled, [queries.size, filled.length / queries.size]);
      return retrievalMetrics({ embeddings, labels: queries.labels, ownRows: queries.ownRows }, gallery, options.clusters, options.ks);
    });
    const result: RunResult = { run, metrics, embeddingShift: this.shiftSum / queries.size, maxPerturbation: this.maxPerturbation, hits: this.hits };
    if (this.detect) result.branchGaps = this.gaps;
    if (run && isTargetedAttack(run.attack)) result.successRate = mean(this.success);
    if (run && isRankingAttack(run.attack)) result.rank = mean(this.rank);
    if (run && ATTACKS[run.attack].measures === 'cosine') result.cosine = mean(this.cosine);
    if (run && ATTACKS[run.attack].measures === 'retain') result.retain = mean(this.retained);
    return result;
  }
}

/** Embeds the clean queries (run null) or attacks them, and measures the result. */
export async function evaluateRun(run: AttackRun | null, options: RobustnessOptions): Promise<RunResult> {
  if (run) return (await evaluateRuns([run], options))[0]!;
  const tally = new Tally(options.queries.size, options.detect);
  for await (const batch of options.queries.batches()) {
    tidy(() => {
      const images = T.tensor(batch.images, [...batch.shape], { device: options.device });
      tally.add(batch, noGrad(() => options.embed(images)), options.queries, options.gallery, images);
    });
    options.onProgress?.(null, tally.done, options.queries.size);
  }
  return tally.result(null, options);
}

/** The identity of a run's result: runs with the same key give the same numbers. */
const runKey = (run: AttackRun) => `${run.attack}|${run.budget.text}|${run.iters}`;

/**
 * Attacks the queries with every run, batch by batch, runs sharing PGD passes (see the header), and
 * measures each run. A run that repeats an earlier one (same attack, budget and iterations) reuses its result.
 */
export async function evaluateRuns(runs: readonly AttackRun[], options: RobustnessOptions): Promise<RunResult[]> {
  const { queries } = options;
  const perPass = options.conditionsPerPass;
  if (perPass !== undefined && (!Number.isInteger(perPass) || perPass < 1)) throw new RangeError(`conditionsPerPass must be a positive integer, got ${perPass}`);
  const firstOf = runs.map((run) => runs.findIndex((r) => runKey(r) === runKey(run)));
  const distinct = runs.filter((_, i) => firstOf[i] === i);
  const pgds = distinct.map((run) => pgdOptionsFor(run, options.pgd));
  const tallies = distinct.map(() => new Tally(queries.size, options.detect));
  let batchIndex = 0;
  for await (const batch of queries.batches()) {
    tidy(() => attackBatch(batch, batchIndex, distinct, pgds, tallies, options));
    batchIndex++;
    for (const [i, run] of distinct.entries()) options.onProgress?.(run, tallies[i]!.done, queries.size);
  }
  const results = distinct.map((run, i) => tallies[i]!.result(run, options));
  return runs.map((_, i) => results[distinct.indexOf(runs[firstOf[i]!]!)]!);
}

/** All runs on one batch of queries: goals and random starts run by run, then the joint PGD passes. */
function attackBatch(batch: ImageBatch, batchIndex: number, runs: readonly AttackRun[], pgds: readonly PgdOptions[], tallies: readonly Tally[], options: RobustnessOptions): void {
  const { queries, gallery } = options;
  const pick = (all: Int32Array): Int32Array => Int32Array.from(batch.positions, (p) => all[p]!);
  const images = T.tensor(batch.images, [...batch.shape], { device: options.device });
  const clean = noGrad(() => options.embed(images));
  const query = { images, clean, labels: pick(queries.labels), ids: pick(queries.ids), ownRows: pick(queries.ownRows) };
  const conditions = runs.map((run, i) => {
    T.manualSeed(batchSeed(run, options.suite.seed, batchIndex));
    const prepared = prepareAttack(run.attack, query, gallery, options.suite);
    const pgd = pgds[i]!;
    // A zero budget leaves the input where it is: its attack is the clean forward, no PGD passes needed.
    if (zeroBudget(pgd)) return { prepared, pgd: null };
    const noise = drawStartNoise(images, pgd);
    return { prepared, pgd: typeof noise === 'number' ? { ...pgd, randomStart: 0 } : { ...pgd, startNoise: noise } };
  });
  // ES:D is the shift of the iterate before the last step, whose forward RobRank measures (`lastForward`).
  const finish = (i: number, adversarial: Tensor, attacked: Tensor, lastForward: Tensor | null = null) => {
    const tally = tallies[i]!;
    const outcome = conditions[i]!.prepared.measure(attacked);
    batch.positions.forEach((p, k) => {
      if (outcome.success) tally.success[p] = outcome.success[k]!;
      if (outcome.rank) tally.rank[p] = outcome.rank[k]!;
      if (outcome.cosine) tally.cosine[p] = outcome.cosine[k]!;
      if (outcome.retained) tally.retained[p] = outcome.retained[k]!;
    });
    const shifted = runs[i]!.attack === 'es' ? (lastForward ?? attacked) : attacked;
    tally.shiftSum += noGrad(() => shifted.sub(clean).norm(2, 1).sum().item());
    tally.maxPerturbation = Math.max(tally.maxPerturbation, noGrad(() => adversarial.sub(images).abs().max().item()));
    tally.add(batch, attacked, queries, gallery, adversarial);
  };
  const perPass = options.conditionsPerPass ?? (options.device.startsWith('cuda') ? Math.max(1, Math.floor(JOINT_INPUT_VALUES / images.numel)) : 1);
  const attacked = runs.map((_, i) => i).filter((i) => conditions[i]!.pgd !== null);
  runs.forEach((_, i) => conditions[i]!.pgd === null && finish(i, images, clean));
  // Runs share passes only with runs of the same iteration count.
  for (const iters of new Set(attacked.map((i) => conditions[i]!.pgd!.iters))) {
    const same = attacked.filter((i) => conditions[i]!.pgd!.iters === iters);
    for (let start = 0; start < same.length; start += perPass) {
      const group = same.slice(start, start + perPass);
      tidy(() => {
        const { adversarial, lastForward } = featurePgdJointTrace(options.embed, group.map((i) => ({ images, goal: conditions[i]!.prepared.goal, options: conditions[i]!.pgd! })));
        const all = noGrad(() => options.embed(adversarial.length === 1 ? adversarial[0]! : T.cat(adversarial)));
        const parts = adversarial.length === 1 ? [all] : all.split(group.map(() => images.shape[0]!), 0);
        group.forEach((i, k) => finish(i, adversarial[k]!, parts[k]!, lastForward[k]));
      });
    }
  }
}

/** The clean queries, then every run (sharing passes, see evaluateRuns). */
export async function evaluateRobustness(runs: readonly AttackRun[], options: RobustnessOptions): Promise<{ clean: RunResult; runs: RunResult[] }> {
  const clean = await evaluateRun(null, options);
  return { clean, runs: await evaluateRuns(runs, options) };
}

function zeroBudget(pgd: PgdOptions): boolean {
  return typeof pgd.eps === 'number' ? pgd.eps === 0 : pgd.eps.every((e) => e === 0);
}

function mean(values: Float64Array): number {
  let sum = 0;
  for (const v of values) sum += v;
  return values.length ? sum / values.length : 0;
}

