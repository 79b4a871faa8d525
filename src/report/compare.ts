// Side-by-side comparison of runs: clean retrieval quality from each run's summary.json and
// robustness from its eval.json, with each run's robustness ratio against the first run (the
// reference, usually the baseline): attacked Recall@1 of the run over that of the reference.
import { basename } from 'node:path';
import { robustnessRatio } from '../adversarial/index.js';
import { FormatError, RUN_FILES, RunDirectory, type AttackEntry, type Comparison, type ComparisonRow, type MetricValues } from '../formats/index.js';

export interface RunResults {
  name: string;
  dir: string;
  method: string;
  clean: MetricValues;
  attacks: AttackEntry[];
}

/** Loads a run directory: summary.json (required) and eval.json (optional: clean numbers only without it). */
export function loadRun(dir: string): RunResults {
  const run = new RunDirectory(dir);
  if (!run.has('summary')) throw new FormatError(dir, null, `no ${RUN_FILES.summary} (is this a finished run directory?)`);
  const summary = run.readSummary();
  const evaluation = run.has('eval') ? run.readEval() : null;
  return {
    name: basename(dir),
    dir,
    method: summary.method,
    clean: { ...summary.test, ...(evaluation?.clean ?? {}) },
    attacks: evaluation?.attacks ?? [],
  };
}

const key = (a: { attack: string; eps: number; iters: number }) => `${a.attack}|${a.eps}|${a.iters}`;

export function compareRuns(runs: readonly RunResults[]): Comparison {
  if (runs.length === 0) throw new Error('compare: no runs given');
  const order: AttackEntry[] = [];
  const seen = new Set<string>();
  for (const run of runs) {
    for (const a of run.attacks) {
      if (!seen.has(key(a))) {
        seen.add(key(a));
        order.push(a);
      }
    }
  }
  const attacks = order.map((a): ComparisonRow => {
    const recall1 = runs.map((r) => r.attacks.find((b) => key(b) === key(a))?.['recall@1'] ?? null);
    return { attack: a.attack, eps: a.eps, iters: a.iters, recall1, ratio: recall1.map((v) => robustnessRatio(v, recall1[0])) };
  });
  return { runs: runs.map((r) => ({ name: r.name, method: r.method, clean: r.clean })), attacks };
}

const pct = (v: number | null | undefined) => (v === null || v === undefined ? '-' : (100 * v).toFixed(2));

/** A plain-text table: clean metrics, then Recall@1 under each attack with ratios to the first run. */
export function formatComparison(c: Comparison): string {
  const names = c.runs.map((r) => `${r.name} (${r.method})`);
  const rows: string[][] = [['metric', ...names]];
  // Each dataset's own Recall@K (1, 2, 4, 8; SOP and In-Shop 1, 10, 100, 1000), in K order.
  const recalls = [...new Set(c.runs.flatMap((r) => Object.keys(r.clean).filter((k) => /^recall@\d+$/.test(k))))].sort((x, y) => Number(x.slice(7)) - Number(y.slice(7)));
  for (const metric of [...recalls, 'map@r', 'map_c', 'nmi']) {
    if (c.runs.some((r) => metric in r.clean)) rows.push([`clean ${metric}`, ...c.runs.map((r) => pct(r.clean[metric]))]);
  }
  for (const a of c.attacks) {
    rows.push([
      `${a.attack} eps=${a.eps} iters=${a.iters} R@1`,
      ...a.recall1.map((v, i) => (i === 0 || a.ratio[i] === null ? pct(v) : `${pct(v)} (x${a.ratio[i]!.toFixed(2)})`)),
    ]);
  }
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  return rows.map((r) => r.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join('  ')).join('\n');
}
