// Summaries of repeated measurements (one per seed) as a centre line and a band around it,
// shared by the line and robustness charts so both draw the same spread the same way.
import { mean, meanInterval, sampleStd } from './stats.js';

/** How the band around a mean over seeds is drawn: min-max, mean ± one sample std, or the t 95% CI. */
export type Spread = 'minmax' | 'std' | 'ci95';

export interface SpreadSummary {
  mean: number;
  lo: number;
  hi: number;
  /** Number of seeds summarized. */
  n: number;
}

export function summarizeSpread(values: readonly number[], spread: Spread): SpreadSummary {
  const m = mean(values);
  const n = values.length;
  if (n === 1) return { mean: m, lo: m, hi: m, n };
  switch (spread) {
    case 'minmax':
      return { mean: m, lo: Math.min(...values), hi: Math.max(...values), n };
    case 'std': {
      const s = sampleStd(values);
      return { mean: m, lo: m - s, hi: m + s, n };
    }
    case 'ci95': {
      const ci = meanInterval(values, 0.95);
      return { mean: m, lo: ci.lo, hi: ci.hi, n };
    }
  }
}

/** What the spread around each mean shows: `shape` is 'band' for lines, 'bars' for error bars. */
export function spreadLabel(spread: Spread, shape: 'band' | 'bars' = 'band'): string {
  const what = { minmax: 'min–max over seeds', std: 'mean ± 1 std over seeds', ci95: '95% t interval of the mean over seeds' }[spread];
  return `${shape}: ${what}`;
}

/**
 * Groups values by a key, keeping the order in which keys first appear (so methods and attacks
 * keep the caller's order in legends and panels).
 */
export function groupInOrder<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** Distinct values in order of first appearance. */
export function distinctInOrder(values: Iterable<string>): string[] {
  return [...new Set(values)];
}
