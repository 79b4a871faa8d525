// What the report pages need from a run directory besides its files' plain fields: metric names
// in reading order and how to print them, settings as a flat table, training curves from
// metrics.jsonl, and which epoch's model a summary describes.
import { z } from 'zod';
import { readJsonFile, type MetricsLine, type RunDirectory } from '../../formats/index.js';
import type { RobustnessResult, SeedSeries } from '../charts/charts.js';
import type { SettingValue } from './html.js';

const LABELS: Record<string, string> = {
  'map@r': 'MAP@R',
  map_c: 'mAP_c (MDProp code)',
  r_precision: 'R-precision',
  map: 'MAP',
  nmi: 'NMI',
  f1: 'F1',
  pi_ratio: 'π-ratio',
  rho_spectrum: 'ρ-spectrum',
};
const ORDER = ['map@r', 'map_c', 'r_precision', 'map', 'nmi', 'f1', 'pi_ratio', 'rho_spectrum'];
/** Metrics that are shares in [0, 1], printed as percentages. */
const RATES = new Set(['map@r', 'map_c', 'r_precision', 'map', 'nmi', 'f1']);

const recallK = (name: string) => /^recall@(\d+)$/.exec(name)?.[1];

export function metricLabel(name: string): string {
  const k = recallK(name);
  return k === undefined ? (LABELS[name] ?? name) : `Recall@${k}`;
}

/** Recall@K by K, then the other known metrics in a fixed order, then the rest by name. */
export function orderMetrics(names: Iterable<string>): string[] {
  const rank = (n: string) => {
    const k = recallK(n);
    if (k !== undefined) return [0, Number(k)] as const;
    const i = ORDER.indexOf(n);
    return [i < 0 ? 2 : 1, i] as const;
  };
  return [...new Set(names)].sort((a, b) => {
    const [ga, ia] = rank(a);
    const [gb, ib] = rank(b);
    return ga - gb || ia - ib || a.localeCompare(b);
  });
}

export function isRateMetric(name: string): boolean {
  return recallK(name) !== undefined || RATES.has(name);
}

/** Whether a larger value is better; null where the report claims no direction (π-ratio, ρ-spectrum). */
export function higherIsBetter(name: string): boolean | null {
  return isRateMetric(name) ? true : null;
}

/** Rates as percentages with two decimals, anything else with three. */
export function formatMetric(name: string, value: number): string {
  return isRateMetric(name) ? (100 * value).toFixed(2) : value.toFixed(3);
}

/** A settings record as one table: nested values (a method written as data) as compact JSON. */
export function flatSettings(record: Readonly<Record<string, unknown>>): Record<string, SettingValue> {
  const out: Record<string, SettingValue> = {};
  for (const [key, value] of Object.entries(record)) {
    if (value === undefined) continue;
    out[key] = value === null || ['string', 'number', 'boolean'].includes(typeof value) ? (value as SettingValue) : JSON.stringify(value);
  }
  return out;
}

export interface TrainingCurves {
  /** Mean training loss per epoch. */
  loss: SeedSeries;
  /** Test Recall@1 at each evaluation. */
  recall: SeedSeries;
}

/** Loss and Recall@1 per epoch of one run; a repeated epoch (a resumed run) keeps its last line. */
export function trainingCurves(lines: readonly MetricsLine[], method: string, seed: number | string): TrainingCurves {
  const loss = new Map<number, number>();
  const recall = new Map<number, number>();
  for (const line of lines) {
    if (line.kind === 'epoch') loss.set(line.epoch, line.loss);
    else if (line.metrics['recall@1'] !== undefined) recall.set(line.epoch, line.metrics['recall@1']);
  }
  const points = (m: Map<number, number>) => [...m].sort((a, b) => a[0] - b[0]).map(([x, y]) => ({ x, y }));
  return { loss: { method, seed, points: points(loss) }, recall: { method, seed, points: points(recall) } };
}

export type ModelSelection = 'final' | 'best-test';

/** How the page names each way of choosing a run's model. */
export const SELECTION_TEXT: Record<ModelSelection, string> = {
  final: "the final epoch's model",
  'best-test': 'the epoch with the best test Recall@1 (optimistic: chosen on the test set)',
};

export interface SummarySelection {
  selection: ModelSelection;
  /** Whether summary.json names it; summaries written before the field existed mean 'best-test'. */
  recorded: boolean;
  /** The epoch whose model the summary's metrics describe, when known. */
  epoch: number | null;
}

// Read on its own so summaries with and without these fields both work.
const selectionSchema = z.object({
  model_selection: z.enum(['final', 'best-test']).optional(),
  model_epoch: z.number().int().nonnegative().nullable().optional(),
  best_epoch: z.number().int().nonnegative().nullable().optional(),
  final_epoch: z.number().int().nonnegative().nullable().optional(),
});

export function summarySelection(run: RunDirectory): SummarySelection {
  const s = readJsonFile(run.file('summary'), selectionSchema);
  const selection = s.model_selection ?? 'best-test';
  const epoch = s.model_epoch ?? (selection === 'final' ? s.final_epoch : s.best_epoch) ?? null;
  return { selection, recorded: s.model_selection !== undefined, epoch };
}

/** Recall@1 of one attack at one budget, one value per seed (in seed order). */
export interface AttackValues {
  attack: string;
  eps: number;
  iters: number;
  values: readonly number[];
}

/**
 * Points for robustnessChart: one panel per attack (per attack and iteration count when several
 * counts occur), and the clean Recall@1 of the same queries drawn at eps 0 unless measured there.
 */
export function robustnessPoints(method: string, seeds: readonly (number | string)[], attacks: readonly AttackValues[], clean: readonly number[] | null): RobustnessResult[] {
  const iterCounts = new Map<string, Set<number>>();
  for (const a of attacks) (iterCounts.get(a.attack) ?? iterCounts.set(a.attack, new Set()).get(a.attack)!).add(a.iters);
  const panel = (a: AttackValues) => (iterCounts.get(a.attack)!.size > 1 ? `${a.attack} (${a.iters} iter.)` : a.attack);
  const out: RobustnessResult[] = [];
  for (const a of attacks) a.values.forEach((recall1, i) => out.push({ method, seed: seeds[i] ?? i, attack: panel(a), eps: a.eps, recall1 }));
  if (clean) {
    for (const name of new Set(attacks.map(panel))) {
      if (out.some((r) => r.attack === name && r.eps === 0 && r.method === method)) continue;
      clean.forEach((recall1, i) => out.push({ method, seed: seeds[i] ?? i, attack: name, eps: 0, recall1 }));
    }
  }
  return out;
}
