// An experiment's numbers as the page shows them: the results table (mean ± std per method, the
// paired difference to the baseline with its 95% interval), the rows of the difference chart,
// and a plain-language summary that says only what the intervals support.
import type { Difference, ExperimentFile, SeedStat } from '../../formats/index.js';
import type { DifferenceRow } from '../charts/charts.js';
import { differenceCell, formatInterval, type Block, type Cell } from './html.js';
import { formatMetric, higherIsBetter, isRateMetric, metricLabel, orderMetrics } from './report-data.js';
import { excludesZero } from '../statistics/stats.js';

/** One row of the table: a clean metric, or Recall@1 under one attack at one budget. */
interface ResultRow {
  label: string;
  metric: string;
  attack?: string;
  eps?: number;
  iters?: number;
  stat: (method: ExperimentFile['methods'][number]) => SeedStat | undefined;
}

function resultRows(exp: ExperimentFile): ResultRow[] {
  const clean = orderMetrics(exp.methods.flatMap((m) => Object.keys(m.clean)));
  const rows: ResultRow[] = clean.map((metric) => ({ label: `clean ${metricLabel(metric)}`, metric, stat: (m) => m.clean[metric] }));
  const seen = new Set<string>();
  for (const r of exp.methods.flatMap((m) => m.robust)) {
    const key = `${r.attack}|${r.eps}|${r.iters}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const stat = (m: ExperimentFile['methods'][number]) => m.robust.find((x) => x.attack === r.attack && x.eps === r.eps && x.iters === r.iters)?.['recall@1'];
    rows.push({ label: `${r.attack} ε=${r.eps} Recall@1`, metric: 'recall@1', attack: r.attack, eps: r.eps, iters: r.iters, stat });
  }
  return rows;
}

function findDifference(exp: ExperimentFile, method: string, row: ResultRow): Difference | undefined {
  return exp.differences.find((d) => d.method === method && d.metric === row.metric && d.attack === row.attack && d.eps === row.eps && d.iters === row.iters);
}

const intervalOf = (d: Difference) => (d.ci95 ? { estimate: d.mean, lo: d.ci95[0], hi: d.ci95[1] } : null);

function meanStd(metric: string, s: SeedStat | undefined): Cell {
  if (!s) return null;
  const std = s.std === null ? '' : ` ± ${isRateMetric(metric) ? (100 * s.std).toFixed(2) : s.std.toFixed(3)}`;
  return `${formatMetric(metric, s.mean)}${std}`;
}

function diffCell(metric: string, d: Difference | undefined): Cell {
  if (!d) return null;
  const scale = isRateMetric(metric) ? 100 : 1;
  const digits = isRateMetric(metric) ? 2 : 3;
  const interval = intervalOf(d);
  if (!interval) return { text: formatInterval({ estimate: d.mean, lo: d.mean, hi: d.mean }, { scale, digits, signed: true }), mark: 'muted', title: 'one seed: no interval' };
  const direction = higherIsBetter(metric);
  const cell = differenceCell(interval, { scale, digits, higherIsBetter: direction ?? true });
  // No claimed direction: mark that the interval excludes zero without calling it better or worse.
  return direction === null && typeof cell === 'object' && cell !== null && cell.mark ? { ...cell, mark: 'bold' } : cell;
}

export function resultsTable(exp: ExperimentFile): Block {
  const [baseline, ...others] = exp.methods.map((m) => m.name);
  const columns = ['metric', ...exp.methods.map((m) => m.name), ...others.map((m) => `${m} − ${baseline}`)];
  const rows = resultRows(exp).map((row): Cell[] => [
    row.label,
    ...exp.methods.map((m) => meanStd(row.metric, row.stat(m))),
    ...others.map((m) => diffCell(row.metric, findDifference(exp, m, row))),
  ]);
  const n = exp.seeds.length;
  return {
    kind: 'table',
    caption: `Mean ± sample std over ${n} seed${n === 1 ? '' : 's'}; rates in %`,
    columns,
    rows,
    note:
      `Differences: mean over seeds of (method − ${baseline}) on the same seed, with its 95% t interval. ` +
      'Green or red: the interval excludes zero (higher or lower than the baseline); bold: excludes zero for a metric without a better direction.',
  };
}

/** Recall@1 differences (clean and attacked) with an interval, in points, for the difference chart. */
export function differenceRows(exp: ExperimentFile): DifferenceRow[] {
  const others = exp.methods.slice(1).map((m) => m.name);
  return resultRows(exp)
    .filter((row) => row.metric === 'recall@1')
    .flatMap((row) =>
      others.flatMap((m) => {
        const d = findDifference(exp, m, row);
        if (!d?.ci95) return [];
        const label = `${others.length > 1 ? `${m}: ` : ''}${row.label.replace(/ Recall@1$/, '')}`;
        return [{ label, estimate: 100 * d.mean, lo: 100 * d.ci95[0], hi: 100 * d.ci95[1] }];
      }),
    );
}

function describe(d: Difference): string {
  const what = d.attack === undefined ? `clean ${metricLabel(d.metric)}` : `${metricLabel(d.metric)} under ${d.attack} at ε=${d.eps}`;
  const scale = isRateMetric(d.metric) ? 100 : 1;
  const unit = isRateMetric(d.metric) ? ' points' : '';
  const f = (v: number) => `${v * scale > 0 ? '+' : ''}${(v * scale).toFixed(isRateMetric(d.metric) ? 2 : 3)}`;
  const [lo, hi] = d.ci95!;
  // Seeds that agree give an interval of no width at the digits shown: say so rather than print "+10 to +10".
  const interval = f(lo) === f(hi) ? 'every seed gave the same difference' : `95% interval ${f(lo)} to ${f(hi)}`;
  return `${d.mean > 0 ? 'higher' : 'lower'} ${what} (${f(d.mean)}${unit}, ${interval})`;
}

const list = (items: string[]) => (items.length <= 1 ? items.join('') : `${items.slice(0, -1).join('; ')}; and ${items[items.length - 1]}`);

/** "What this shows": each method against the baseline, naming only differences whose interval excludes zero. */
export function summaryParagraphs(exp: ExperimentFile): string[] {
  const n = exp.seeds.length;
  const baseline = exp.methods[0]?.name ?? 'the baseline';
  const out: string[] = [];
  if (n < 2) out.push(`With one seed there are no intervals: each number is a single run, and the page cannot say whether any method is better than ${baseline}.`);
  for (const m of exp.methods.slice(1)) {
    const mine = exp.differences.filter((d) => d.method === m.name);
    const clear = mine.filter((d) => d.ci95 && excludesZero({ lo: d.ci95[0], hi: d.ci95[1] }));
    if (n < 2 || mine.length === 0) continue;
    if (clear.length === 0) {
      const which = mine.length === 1 ? 'The one difference' : `None of the ${mine.length} differences`;
      out.push(`${which} between ${m.name} and ${baseline} has a 95% interval that ${mine.length === 1 ? 'includes' : 'excludes'} zero: over ${n} seeds these runs do not tell the two apart.`);
      continue;
    }
    const rest = mine.length - clear.length;
    out.push(
      `Against ${baseline}, ${m.name} shows ${list(clear.map(describe))}, over ${n} seeds.` +
        (rest > 0 ? ` For the other ${rest} of the ${mine.length} comparisons the ${rest === 1 ? 'interval includes' : 'intervals include'} zero, so these seeds do not tell the two apart there.` : ''),
    );
  }
  if (n >= 2 && exp.differences.length > 1) out.push(`The intervals are not corrected for the ${exp.differences.length} comparisons made; with many comparisons one may exclude zero by chance.`);
  if (exp.model_selection === 'best-test') out.push("Each run's model was chosen by its test Recall@1 (optimistic: chosen on the test set), so all the numbers here lean high.");
  return out;
}
