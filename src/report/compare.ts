// Side-by-side comparison of runs: clean retrieval quality from each run's summary.json and
// robustness from its eval.json, with each run's robustness ratio against the first run (the
// reference, usually the baseline): attacked Recall@1 of the run over that of the reference.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

export interface AttackResult {
  attack: string;
  eps: number | string;
  iters: number;
  'recall@1': number;
  'map@r'?: number;
  success_rate?: number;
}

export interface RunResults {
  name: string;
  dir: string;
  method: string;
  clean: Record<string, number>;
  attacks: AttackResult[];
}

export interface ComparisonRow {
  attack: string;
  eps: number | string;
  iters: number;
  /** Attacked Recall@1 per run, in run order (null where a run lacks this attack). */
  recall1: (number | null)[];
  /** recall1[i] / recall1[0] (null where undefined or the reference is 0). */
  ratio: (number | null)[];
}

export interface Comparison {
  runs: { name: string; method: string; clean: Record<string, number> }[];
  attacks: ComparisonRow[];
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: cannot read JSON (${(err as Error).message})`);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function numbers(record: Record<string, unknown>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).filter((e): e is [string, number] => typeof e[1] === 'number'));
}

/** Loads a run directory: summary.json (required) and eval.json (optional: clean numbers only without it). */
export function loadRun(dir: string): RunResults {
  const summaryPath = join(dir, 'summary.json');
  if (!existsSync(summaryPath)) throw new Error(`${dir}: no summary.json (is this a finished run directory?)`);
  const summary = readJson(summaryPath);
  if (!isRecord(summary) || !isRecord(summary.test)) throw new Error(`${summaryPath}: missing the "test" metrics`);
  const evalPath = join(dir, 'eval.json');
  let clean = numbers(summary.test);
  let attacks: AttackResult[] = [];
  if (existsSync(evalPath)) {
    const evaluation = readJson(evalPath);
    if (!isRecord(evaluation) || !Array.isArray(evaluation.attacks)) throw new Error(`${evalPath}: missing the "attacks" list`);
    if (isRecord(evaluation.clean)) clean = { ...clean, ...numbers(evaluation.clean) };
    attacks = evaluation.attacks.filter(isRecord).map((a, i) => {
      if (typeof a.attack !== 'string' || typeof a['recall@1'] !== 'number') throw new Error(`${evalPath}: attacks[${i}] lacks "attack" or "recall@1"`);
      return a as unknown as AttackResult;
    });
  }
  return { name: basename(dir), dir, method: typeof summary.method === 'string' ? summary.method : 'unknown', clean, attacks };
}

const key = (a: { attack: string; eps: number | string; iters: number }) => `${a.attack}|${a.eps}|${a.iters}`;

export function compareRuns(runs: readonly RunResults[]): Comparison {
  if (runs.length === 0) throw new Error('compare: no runs given');
  const order: AttackResult[] = [];
  const seen = new Set<string>();
  for (const run of runs) {
    for (const a of run.attacks) {
      if (!seen.has(key(a))) {
        seen.add(key(a));
        order.push(a);
      }
    }
  }
  const attacks = order.map((a) => {
    const recall1 = runs.map((r) => r.attacks.find((b) => key(b) === key(a))?.['recall@1'] ?? null);
    const reference = recall1[0];
    const ratio = recall1.map((v) => (v === null || reference === null || reference === undefined || reference === 0 ? null : v / reference));
    return { attack: a.attack, eps: a.eps, iters: a.iters, recall1, ratio };
  });
  return { runs: runs.map((r) => ({ name: r.name, method: r.method, clean: r.clean })), attacks };
}

const pct = (v: number | null | undefined) => (v === null || v === undefined ? '-' : (100 * v).toFixed(2));

/** A plain-text table: clean metrics, then Recall@1 under each attack with ratios to the first run. */
export function formatComparison(c: Comparison): string {
  const names = c.runs.map((r) => `${r.name} (${r.method})`);
  const rows: string[][] = [['metric', ...names]];
  for (const metric of ['recall@1', 'recall@2', 'recall@4', 'recall@8', 'map@r', 'nmi']) {
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
