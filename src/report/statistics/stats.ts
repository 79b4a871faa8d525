// Statistics for experiment reports: summaries over seeds with Student-t confidence intervals,
// paired method-minus-baseline differences per seed, and a seeded paired percentile bootstrap
// for differences of per-query statistics (e.g. Recall@1 hits of two models on the same queries).
import { Random } from '../../data/random.js';
import { studentTQuantile } from './student-t.js';

export { studentTCdf, studentTQuantile } from './student-t.js';

/** A two-sided confidence interval around an estimate. */
export interface Interval {
  estimate: number;
  lo: number;
  hi: number;
  /** Confidence level, e.g. 0.95. */
  level: number;
}

/** Mean of n values with its t interval; lo = hi = mean when n = 1 gives no spread to estimate. */
export interface MeanInterval extends Interval {
  n: number;
  /** Sample standard deviation (n - 1 in the denominator); NaN when n = 1. */
  std: number;
  /** Degrees of freedom of the t quantile (n - 1). */
  df: number;
}

export interface PairedDifference extends MeanInterval {
  /** method[i] - baseline[i] for each seed i. */
  differences: number[];
}

export interface BootstrapInterval extends Interval {
  resamples: number;
  seed: number;
}

export interface BootstrapOptions {
  seed: number;
  /** Number of resamples; 2000 by default. */
  resamples?: number;
  level?: number;
}

function checkValues(name: string, xs: ArrayLike<number>, minLength: number): void {
  if (xs.length < minLength) throw new RangeError(`${name}: needs at least ${minLength} value(s), got ${xs.length}`);
  for (let i = 0; i < xs.length; i++) {
    if (!Number.isFinite(xs[i])) throw new RangeError(`${name}: value ${i} is not a finite number (${xs[i]})`);
  }
}

function checkLevel(level: number): void {
  if (!(level > 0 && level < 1)) throw new RangeError(`confidence level must be in (0, 1), got ${level}`);
}

export function mean(xs: ArrayLike<number>): number {
  checkValues('mean', xs, 1);
  let sum = 0;
  for (let i = 0; i < xs.length; i++) sum += xs[i]!;
  return sum / xs.length;
}

/** Sample standard deviation with n - 1 in the denominator (two passes for accuracy). */
export function sampleStd(xs: ArrayLike<number>): number {
  checkValues('sampleStd', xs, 2);
  const m = mean(xs);
  let ss = 0;
  for (let i = 0; i < xs.length; i++) ss += (xs[i]! - m) ** 2;
  return Math.sqrt(ss / (xs.length - 1));
}

/** Mean with the Student-t interval mean ± t_{(1+level)/2, n-1} · s / sqrt(n). */
export function meanInterval(xs: ArrayLike<number>, level = 0.95): MeanInterval {
  checkLevel(level);
  checkValues('meanInterval', xs, 1);
  const n = xs.length;
  const m = mean(xs);
  if (n === 1) return { estimate: m, lo: m, hi: m, level, n, std: Number.NaN, df: 0 };
  const std = sampleStd(xs);
  const half = (studentTQuantile((1 + level) / 2, n - 1) * std) / Math.sqrt(n);
  return { estimate: m, lo: m - half, hi: m + half, level, n, std, df: n - 1 };
}

/**
 * Paired differences over seeds: method[i] - baseline[i], where index i is the same seed in both
 * arrays, with the t interval of their mean. Pairing removes the seed-to-seed variation that the
 * two methods share.
 */
export function pairedDifference(method: ArrayLike<number>, baseline: ArrayLike<number>, level = 0.95): PairedDifference {
  if (method.length !== baseline.length) {
    throw new RangeError(`pairedDifference: ${method.length} method values against ${baseline.length} baseline values (one per seed in both)`);
  }
  checkValues('pairedDifference (method)', method, 1);
  checkValues('pairedDifference (baseline)', baseline, 1);
  const differences = Array.from({ length: method.length }, (_, i) => method[i]! - baseline[i]!);
  return { ...meanInterval(differences, level), differences };
}

/** Linear-interpolation quantile (R's type 7) of ascending sorted values. */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new RangeError('quantileSorted: no values');
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * Percentile bootstrap interval of mean(a) - mean(b) for a per-query statistic measured by two
 * methods on the same queries (a[i], b[i] belong to query i). Queries are resampled with
 * replacement and both methods keep their pairing, so the interval reflects only how the two
 * differ on the queries. Seeded through the project's generator: the same seed gives the same interval.
 */
export function bootstrapDifference(a: ArrayLike<number>, b: ArrayLike<number>, options: BootstrapOptions): BootstrapInterval {
  const { seed, resamples = 2000, level = 0.95 } = options;
  checkLevel(level);
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`bootstrapDifference: resamples must be a positive integer, got ${resamples}`);
  if (a.length !== b.length) throw new RangeError(`bootstrapDifference: ${a.length} values against ${b.length} (one per query in both)`);
  checkValues('bootstrapDifference (a)', a, 1);
  checkValues('bootstrapDifference (b)', b, 1);
  const n = a.length;
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = a[i]! - b[i]!;
  const rng = new Random(seed, 'bootstrap');
  const stats = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += d[rng.int(n)]!;
    stats[r] = sum / n;
  }
  stats.sort();
  const alpha = (1 - level) / 2;
  return { estimate: mean(d), lo: quantileSorted(stats, alpha), hi: quantileSorted(stats, 1 - alpha), level, resamples, seed };
}

/** True when the interval lies entirely on one side of zero. */
export function excludesZero(interval: Pick<Interval, 'lo' | 'hi'>): boolean {
  return interval.lo > 0 || interval.hi < 0;
}
