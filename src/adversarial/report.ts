// The evaluation report. Its core is the contract of `mdprop eval --json` (issue 6):
//   {"clean": {"recall@1", ..., "map@r", "nmi"},
//    "attacks": [{"attack", "eps", "iters", "recall@1", "map@r", "success_rate"?}, ...]}
// with eps in the unit the user wrote it in (4/255 -> 0.0157, a share of the pixel range).
// eval.json holds that core plus `details` (one per attack entry: every metric and the budget in
// input units), `ers` (per eps) and `settings`.
import type { AttackName } from './attacks.js';
import type { AttackRun, RunResult } from './evaluate.js';
import type { RetrievalMetrics } from './robust-metrics.js';
import { empiricalRobustnessScore, type ErsComponent, type ErsMeasures, type ErsResult } from './scores.js';

export type CleanMetrics = Record<string, number>;

export interface AttackEntry {
  attack: AttackName;
  eps: number;
  iters: number;
  'recall@1': number;
  'map@r': number;
  success_rate?: number;
}

export interface EvalOutput {
  clean: CleanMetrics;
  attacks: AttackEntry[];
}

export interface AttackDetail {
  attack: AttackName;
  /** The budget as written ("0.01", "4/255") and its unit. */
  eps_text: string;
  eps_unit: 'normalized' | 'pixel';
  iters: number;
  metrics: CleanMetrics;
  success_rate?: number;
  /** Ranking attacks: mean rank percentile in [0, 1]. */
  rank?: number;
  embedding_shift: number;
  max_perturbation: number;
}

export interface ErsEntry extends ErsResult {
  eps: number;
  eps_text: string;
  iters: number;
}

export interface EvalFile extends EvalOutput {
  details: AttackDetail[];
  ers: ErsEntry[];
  settings: Record<string, unknown>;
}

/** recall@K in K order, then map@r and nmi. */
export function orderedMetrics(metrics: RetrievalMetrics, ks: readonly number[]): CleanMetrics {
  const out: CleanMetrics = {};
  for (const k of ks) out[`recall@${k}`] = metrics[`recall@${k}`];
  out['map@r'] = metrics['map@r'];
  out.nmi = metrics.nmi;
  return out;
}

function entryOf(result: RunResult & { run: AttackRun }): AttackEntry {
  const { run, metrics } = result;
  const entry: AttackEntry = {
    attack: run.attack,
    eps: run.budget.value,
    iters: run.attack === 'fgsm' ? 1 : run.iters,
    'recall@1': metrics['recall@1'],
    'map@r': metrics['map@r'],
  };
  if (result.successRate !== undefined) entry.success_rate = result.successRate;
  return entry;
}

function detailOf(result: RunResult & { run: AttackRun }, ks: readonly number[]): AttackDetail {
  const { run } = result;
  const detail: AttackDetail = {
    attack: run.attack,
    eps_text: run.budget.text,
    eps_unit: run.budget.unit,
    iters: run.attack === 'fgsm' ? 1 : run.iters,
    metrics: orderedMetrics(result.metrics, ks),
    embedding_shift: result.embeddingShift,
    max_perturbation: result.maxPerturbation,
  };
  if (result.successRate !== undefined) detail.success_rate = result.successRate;
  if (result.rank !== undefined) detail.rank = result.rank;
  return detail;
}

const ERS_SOURCE: Partial<Record<AttackName, (r: RunResult) => ErsMeasures>> = {
  'ca+': (r) => ({ 'ca+': r.rank }),
  'ca-': (r) => ({ 'ca-': r.rank }),
  'qa+': (r) => ({ 'qa+': r.rank }),
  'qa-': (r) => ({ 'qa-': r.rank }),
  es: (r) => ({ 'es:d': r.embeddingShift, 'es:r': r.metrics['recall@1'] }),
};

/** ERS for every (eps, iters) at which at least one of its attacks ran. */
export function ersEntries(results: readonly RunResult[]): ErsEntry[] {
  const groups = new Map<string, { budget: AttackRun['budget']; iters: number; measures: ErsMeasures }>();
  for (const r of results) {
    const source = r.run ? ERS_SOURCE[r.run.attack] : undefined;
    if (!r.run || !source) continue;
    const key = `${r.run.budget.text}|${r.run.iters}`;
    const group = groups.get(key) ?? { budget: r.run.budget, iters: r.run.iters, measures: {} };
    for (const [name, value] of Object.entries(source(r)) as [ErsComponent, number | undefined][]) if (value !== undefined) group.measures[name] = value;
    groups.set(key, group);
  }
  return [...groups.values()].map((g) => ({ eps: g.budget.value, eps_text: g.budget.text, iters: g.iters, ...empiricalRobustnessScore(g.measures) }));
}

export function buildReport(clean: RunResult, runs: readonly RunResult[], ks: readonly number[], settings: Record<string, unknown>): EvalFile {
  const attacked = runs.filter((r): r is RunResult & { run: AttackRun } => r.run !== null);
  return {
    clean: orderedMetrics(clean.metrics, ks),
    attacks: attacked.map(entryOf),
    details: attacked.map((r) => detailOf(r, ks)),
    ers: ersEntries(attacked),
    settings,
  };
}

/** Exactly the contract's keys (what --json prints). */
export function contractOutput(report: EvalOutput): EvalOutput {
  return { clean: report.clean, attacks: report.attacks };
}

/** A plain-text table of the report. */
export function formatReport(report: EvalFile): string {
  const pct = (v: number) => (100 * v).toFixed(2).padStart(6);
  const lines = [`${'run'.padEnd(12)} ${'eps'.padEnd(9)} ${'iters'.padStart(5)}  ${'R@1'.padStart(6)} ${'MAP@R'.padStart(6)} ${'NMI'.padStart(6)}  other`];
  const c = report.clean;
  lines.push(`${'clean'.padEnd(12)} ${'-'.padEnd(9)} ${'-'.padStart(5)}  ${pct(c['recall@1']!)} ${pct(c['map@r']!)} ${pct(c.nmi!)}`);
  for (const d of report.details) {
    const other = [
      d.success_rate !== undefined ? `success ${pct(d.success_rate).trim()}%` : '',
      d.rank !== undefined ? `rank ${pct(d.rank).trim()}%` : '',
      `shift ${d.embedding_shift.toFixed(3)}`,
    ].filter(Boolean);
    lines.push(`${d.attack.padEnd(12)} ${d.eps_text.padEnd(9)} ${String(d.iters).padStart(5)}  ${pct(d.metrics['recall@1']!)} ${pct(d.metrics['map@r']!)} ${pct(d.metrics.nmi!)}  ${other.join('  ')}`);
  }
  for (const e of report.ers) {
    if (e.score === null) continue;
    const partial = e.missing.length ? ` (without ${e.missing.join(', ')})` : '';
    lines.push(`ERS at eps ${e.eps_text}, ${e.iters} iters: ${e.score.toFixed(1)}${partial}`);
  }
  return `${lines.join('\n')}\n`;
}
