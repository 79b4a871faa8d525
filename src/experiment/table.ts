// The terminal table of an experiment: each method's mean ± std over seeds, and each method's
// paired difference to the baseline with its 95% interval; '*' marks an interval that excludes 0.
import type { Difference, ExperimentFile, SeedStat } from '../formats/index.js';

const pct = (v: number) => (100 * v).toFixed(1);
const spread = (s: SeedStat) => `${pct(s.mean)} ± ${s.std === null ? '-' : pct(s.std)}`;

function differenceText(d: Difference | undefined): string {
  if (!d) return '-';
  const sign = d.mean >= 0 ? '+' : '';
  const ci = d.ci95 ? ` [${pct(d.ci95[0])}, ${pct(d.ci95[1])}]` : '';
  return `${sign}${pct(d.mean)}${ci}${d.significant ? ' *' : ''}`;
}

export function formatExperiment(file: ExperimentFile): string {
  const [baseline, ...others] = file.methods;
  if (!baseline) return 'no methods\n';
  const header = ['metric (%)', ...file.methods.map((m) => m.name), ...others.map((m) => `${m.name} - ${baseline.name}`)];
  const rows: string[][] = [header];
  const find = (method: string, metric: string, attack?: string, eps?: number) =>
    file.differences.find((d) => d.method === method && d.metric === metric && d.attack === attack && d.eps === eps);
  for (const metric of Object.keys(baseline.clean)) {
    rows.push([`clean ${metric}`, ...file.methods.map((m) => (m.clean[metric] ? spread(m.clean[metric]) : '-')), ...others.map((m) => differenceText(find(m.name, metric)))]);
  }
  baseline.robust.forEach((r, i) => {
    rows.push([
      `${r.attack} eps ${r.eps} R@1`,
      ...file.methods.map((m) => (m.robust[i] ? spread(m.robust[i]['recall@1']) : '-')),
      ...others.map((m) => differenceText(find(m.name, 'recall@1', r.attack, r.eps))),
    ]);
  });
  const widths = header.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const lines = rows.map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
  const seeds = `${file.seeds.length} seed${file.seeds.length === 1 ? '' : 's'} (${file.seeds.join(', ')})`;
  return `${lines.join('\n')}\n\nmean ± std over ${seeds}; differences: mean of per-seed differences [95% t-interval]; * = interval excludes 0\n`;
}
