// Turning the results of a robustness evaluation into eval.json (schema: src/formats/eval-file.ts)
// and into the table `mdprop eval` prints.
import {
  attackIters,
  ATTACKS,
  empiricalRobustnessScore,
  ERS_COMPONENTS,
  type AttackCondition,
  type ConditionResult,
  type ErsComponent,
  type ErsMeasures,
} from '../adversarial/index.js';
import { recallKey, type MetricValues } from '../dml/index.js';
import type { AttackDetail, AttackEntry, ErsEntry, EvalFile, EvalOutput, EvalSettings, LegacyErsEntry } from '../formats/index.js';

type AttackResult = ConditionResult & { condition: AttackCondition };

/** recall@K in K order, then map@r, map_c and nmi. */
export function orderedMetrics(metrics: MetricValues, ks: readonly number[]): MetricValues {
  const out: MetricValues = {};
  for (const k of ks) out[recallKey(k)] = metrics[recallKey(k)]!;
  out['map@r'] = metrics['map@r']!;
  out.map_c = metrics.map_c!;
  out.nmi = metrics.nmi!;
  return out;
}

function entryOf(result: AttackResult): AttackEntry {
  const { condition, metrics } = result;
  const entry: AttackEntry = {
    attack: condition.attack,
    eps: condition.budget.value,
    iters: attackIters(condition.attack, condition.iters),
    'recall@1': metrics['recall@1']!,
    'map@r': metrics['map@r']!,
  };
  if (result.successRate !== undefined) entry.success_rate = result.successRate;
  return entry;
}

function detailOf(result: AttackResult, ks: readonly number[]): AttackDetail {
  const { condition } = result;
  const detail: AttackDetail = {
    attack: condition.attack,
    eps_text: condition.budget.text,
    eps_unit: condition.budget.unit,
    iters: attackIters(condition.attack, condition.iters),
    metrics: orderedMetrics(result.metrics, ks),
    embedding_shift: result.embeddingShift,
    max_perturbation: result.maxPerturbation,
    hits: hitList(result.hits),
  };
  if (result.successRate !== undefined) detail.success_rate = result.successRate;
  if (result.rank !== undefined) detail.rank = result.rank;
  if (result.cosine !== undefined) detail.cosine = result.cosine;
  if (result.retain !== undefined) detail.retain = result.retain;
  return detail;
}

/** What an ERS component reads off an attack's result (RobRank's raw measure). */
function ersMeasure(component: ErsComponent, r: ConditionResult): number | undefined {
  switch (component) {
    case 'CA+':
    case 'CA-':
    case 'QA+':
    case 'QA-':
      return r.rank;
    case 'TMA':
      return r.cosine;
    case 'ES:D':
      return r.embeddingShift;
    case 'ES:R':
    case 'LTM':
    case 'GTM':
      return r.metrics['recall@1'];
    case 'GTT':
      return r.retain;
  }
}

/** ERS for every (eps, iters) at which at least one of its attacks ran. */
export function ersEntries(results: readonly AttackResult[]): ErsEntry[] {
  const groups = new Map<string, { condition: AttackCondition; measures: ErsMeasures }>();
  for (const r of results) {
    const components = ATTACKS[r.condition.attack].ers;
    if (components.length === 0) continue;
    const key = `${r.condition.budget.text}|${r.condition.iters}`;
    const group = groups.get(key) ?? { condition: r.condition, measures: {} };
    for (const component of components) {
      const value = ersMeasure(component, r);
      if (value !== undefined) group.measures[component] = value;
    }
    groups.set(key, group);
  }
  return [...groups.values()].map((g) => ({ eps: g.condition.budget.value, eps_text: g.condition.budget.text, iters: g.condition.iters, ...empiricalRobustnessScore(g.measures) }));
}

const hitList = (hits: Uint8Array): (0 | 1)[] => Array.from(hits, (h) => (h ? 1 : 0));

/** eval.json's content from the clean queries' and every condition's results. */
export function evalFileOf(clean: ConditionResult, results: readonly ConditionResult[], ks: readonly number[], settings: EvalSettings, queryIds?: ArrayLike<number>): EvalFile {
  const attacked = results.filter((r): r is AttackResult => r.condition !== null);
  return {
    clean: orderedMetrics(clean.metrics, ks),
    attacks: attacked.map(entryOf),
    clean_hits: hitList(clean.hits),
    ...(queryIds ? { query_ids: Array.from(queryIds) } : {}),
    details: attacked.map((r) => detailOf(r, ks)),
    ers: ersEntries(attacked),
    settings,
  };
}

/** Exactly the contract's keys (what --json prints); `ers` only when an ERS attack ran. */
export function contractOutput(report: EvalFile): EvalOutput {
  const ers = report.ers.filter(isCurrentErs);
  return { clean: report.clean, attacks: report.attacks, ...(ers.length ? { ers } : {}) };
}

/** ERS entries as written now (older files hold six lower-case components in [0, 100]). */
export function isCurrentErs(entry: ErsEntry | LegacyErsEntry): entry is ErsEntry {
  return Object.keys(entry.components).every((name) => (ERS_COMPONENTS as readonly string[]).includes(name)) && entry.missing.every((name) => (ERS_COMPONENTS as readonly string[]).includes(name));
}

/** A plain-text table of an evaluation (what `mdprop eval` prints). */
export function formatEvaluation(report: EvalFile): string {
  const pct = (v: number) => (100 * v).toFixed(2).padStart(6);
  const lines = [`${'attack'.padEnd(12)} ${'eps'.padEnd(9)} ${'iters'.padStart(5)}  ${'R@1'.padStart(6)} ${'MAP@R'.padStart(6)} ${'NMI'.padStart(6)}  other`];
  const c = report.clean;
  lines.push(`${'clean'.padEnd(12)} ${'-'.padEnd(9)} ${'-'.padStart(5)}  ${pct(c['recall@1']!)} ${pct(c['map@r']!)} ${pct(c.nmi!)}`);
  for (const d of report.details) {
    const other = [
      d.success_rate !== undefined ? `success ${pct(d.success_rate).trim()}%` : '',
      d.rank !== undefined ? `rank ${pct(d.rank).trim()}%` : '',
      d.cosine !== undefined ? `cosine ${d.cosine.toFixed(3)}` : '',
      d.retain !== undefined ? `retain@4 ${pct(d.retain).trim()}%` : '',
      `shift ${d.embedding_shift.toFixed(3)}`,
    ].filter(Boolean);
    lines.push(`${d.attack.padEnd(12)} ${d.eps_text.padEnd(9)} ${String(d.iters).padStart(5)}  ${pct(d.metrics['recall@1']!)} ${pct(d.metrics['map@r']!)} ${pct(d.metrics.nmi!)}  ${other.join('  ')}`);
  }
  for (const e of report.ers) {
    if (e.score === null) continue;
    const partial = e.missing.length ? ` (without ${e.missing.join(', ')})` : '';
    // Printed in percent, as RobRank's tables show it (older files stored percent already).
    const current = isCurrentErs(e);
    lines.push(`ERS at eps ${e.eps_text}, ${e.iters} iters: ${(current ? 100 * e.score : e.score).toFixed(1)}${partial}`);
    if (current) {
      const parts = ERS_COMPONENTS.flatMap((name) => {
        const c = e.components[name];
        return c ? [`${name} ${(100 * c.rescaled).toFixed(1)}`] : [];
      });
      lines.push(`  rescaled: ${parts.join('  ')}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
