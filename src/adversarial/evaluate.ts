// Robustness evaluation: the clean queries, then each (attack, eps) run over the same queries in
// the same batches, each query retrieved from the clean gallery. Batches keep memory bounded (one
// batch of images and its attack graph at a time); the attacked embeddings of a run are gathered
// on the host and measured at the end of the run.
import { Random } from '../data/index.js';
import * as T from '../torch/index.js';
import { noGrad, tidy } from '../torch/index.js';
import { ATTACKS, isTargetedAttack, isRankingAttack, prepareAttack, type AttackName, type SuiteOptions } from './attacks.js';
import { budgetInInputUnits, scaleAmount, smallestAmount, type Budget } from './budget.js';
import type { CleanGallery } from './gallery.js';
import { featurePgd, type EmbedFn, type InputRange, type PgdOptions } from './pgd.js';
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
  /** After each batch: the run (null = clean), queries done in it and in total. */
  onProgress?: (run: AttackRun | null, done: number, total: number) => void;
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

/** A seed for libtorch's generator per run, independent of the order runs are made in. */
function runSeed(run: AttackRun, seed: number): number {
  return new Random(seed, 'pgd', run.attack, run.budget.text, run.iters).nextUint32();
}

/** Embeds the clean queries (run null) or attacks them, and measures the result. */
export async function evaluateRun(run: AttackRun | null, options: RobustnessOptions): Promise<RunResult> {
  const { queries, gallery } = options;
  const pgd = run ? pgdOptionsFor(run, options.pgd) : null;
  if (run) T.manualSeed(runSeed(run, options.suite.seed));
  let rows: Float32Array | null = null;
  const success = new Float64Array(queries.size);
  const rank = new Float64Array(queries.size);
  const cosine = new Float64Array(queries.size);
  const retained = new Float64Array(queries.size);
  const hits = new Uint8Array(queries.size);
  let shiftSum = 0;
  let maxPerturbation = 0;
  let done = 0;
  for await (const batch of queries.batches()) {
    tidy(() => {
      const pick = (all: Int32Array): Int32Array => Int32Array.from(batch.positions, (p) => all[p]!);
      const images = T.tensor(batch.images, [...batch.shape], { device: options.device });
      const clean = noGrad(() => options.embed(images));
      let attacked = clean;
      if (run && pgd) {
        const prepared = prepareAttack(run.attack, { images, clean, labels: pick(queries.labels), ids: pick(queries.ids), ownRows: pick(queries.ownRows) }, gallery, options.suite);
        // A zero budget leaves the input where it is: its attack is the clean forward, no PGD passes needed.
        const adversarial = zeroBudget(pgd) ? images : featurePgd(options.embed, images, prepared.goal, pgd);
        attacked = noGrad(() => options.embed(adversarial));
        const outcome = prepared.measure(attacked);
        batch.positions.forEach((p, i) => {
          if (outcome.success) success[p] = outcome.success[i]!;
          if (outcome.rank) rank[p] = outcome.rank[i]!;
          if (outcome.cosine) cosine[p] = outcome.cosine[i]!;
          if (outcome.retained) retained[p] = outcome.retained[i]!;
        });
        shiftSum += noGrad(() => attacked.sub(clean).norm(2, 1).sum().item());
        maxPerturbation = Math.max(maxPerturbation, noGrad(() => adversarial.sub(images).abs().max().item()));
      }
      const labels = pick(queries.labels);
      gallery.nearest(attacked, pick(queries.ownRows)).forEach((row, i) => (hits[batch.positions[i]!] = gallery.labels[row] === labels[i] ? 1 : 0));
      const values = noGrad(() => attacked.to('cpu').contiguous().toFloat32Array());
      const dim = values.length / batch.positions.length;
      rows ??= new Float32Array(queries.size * dim);
      batch.positions.forEach((p, i) => rows!.set(values.subarray(i * dim, (i + 1) * dim), p * dim));
    });
    done += batch.positions.length;
    options.onProgress?.(run, done, queries.size);
  }
  if (rows === null || done !== queries.size) throw new Error(`robustness evaluation: the query batches covered ${done} of ${queries.size} queries`);
  const filled: Float32Array = rows;
  const metrics = tidy(() => {
    const embeddings = T.tensor(filled, [queries.size, filled.length / queries.size]);
    return retrievalMetrics({ embeddings, labels: queries.labels, ownRows: queries.ownRows }, gallery, options.clusters, options.ks);
  });
  const result: RunResult = { run, metrics, embeddingShift: shiftSum / queries.size, maxPerturbation, hits };
  if (run && isTargetedAttack(run.attack)) result.successRate = mean(success);
  if (run && isRankingAttack(run.attack)) result.rank = mean(rank);
  if (run && ATTACKS[run.attack].measures === 'cosine') result.cosine = mean(cosine);
  if (run && ATTACKS[run.attack].measures === 'retain') result.retain = mean(retained);
  return result;
}

/** The clean queries, then every run in order. */
export async function evaluateRobustness(runs: readonly AttackRun[], options: RobustnessOptions): Promise<{ clean: RunResult; runs: RunResult[] }> {
  const clean = await evaluateRun(null, options);
  const results: RunResult[] = [];
  for (const run of runs) results.push(await evaluateRun(run, options));
  return { clean, runs: results };
}

function zeroBudget(pgd: PgdOptions): boolean {
  return typeof pgd.eps === 'number' ? pgd.eps === 0 : pgd.eps.every((e) => e === 0);
}

function mean(values: Float64Array): number {
  let sum = 0;
  for (const v of values) sum += v;
  return values.length ? sum / values.length : 0;
}

