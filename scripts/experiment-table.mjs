// Prints an experiment evaluated with --profile as the README's reference-table rows (markdown):
// per method the clean metrics of its training runs' own evaluation (summary.json: all test
// images) and its ERS components, mean over the seeds, and the ERS as mean ± std with the paired
// difference to the baseline [95% t interval]; then the detector's AUROCs where there are any.
//   node scripts/experiment-table.mjs EXPERIMENT_DIR [--label TEXT]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, ...rest] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node scripts/experiment-table.mjs EXPERIMENT_DIR [--label TEXT]');
  process.exit(2);
}
const label = rest[0] === '--label' ? rest[1] : '';
const exp = JSON.parse(readFileSync(join(dir, 'experiment.json'), 'utf8'));
const pct = (v) => (100 * v).toFixed(1);
const spread = (values) => {
  const m = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = values.length > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / (values.length - 1)) : NaN;
  return `${pct(m)} ± ${Number.isNaN(sd) ? '-' : pct(sd)}`;
};
const components = ['CA+', 'CA-', 'QA+', 'QA-', 'TMA', 'ES:D', 'ES:R', 'LTM', 'GTM', 'GTT'];
const head = ['model', 'R@1', 'mAP', 'NMI', ...components, 'ERS', `ERS − ${exp.methods[0].name}`];
const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
for (const m of exp.methods) {
  const summaries = m.runs.map((r) => JSON.parse(readFileSync(join(dir, r, 'summary.json'), 'utf8')).test);
  const clean = ['recall@1', 'map', 'nmi'].map((k) => spread(summaries.map((s) => s[k])));
  const parts = components.map((c) => (m.ers_components?.[c] ? pct(m.ers_components[c].mean) : '-'));
  const d = exp.differences.find((x) => x.method === m.name && x.metric === 'ers');
  const diff = d ? `${d.mean >= 0 ? '+' : ''}${pct(d.mean)}${d.ci95 ? ` [${pct(d.ci95[0])}, ${pct(d.ci95[1])}]` : ''}` : '';
  lines.push(`| ${m.name}${label ? `, ${label}` : ''} | ${clean.join(' | ')} | ${parts.join(' | ')} | **${m.ers ? spread(m.ers.values) : '-'}** | ${diff} |`);
}
console.log(lines.join('\n'));
const detected = exp.methods.filter((m) => m.detection?.length);
if (detected.length) {
  console.log('\n| method | attack | branch | AUROC mean ± std [95% t interval] |\n| --- | --- | --- | --- |');
  for (const m of detected)
    for (const d of m.detection) {
      const ci = d.ci95 ? ` [${d.ci95[0].toFixed(3)}, ${d.ci95[1].toFixed(3)}]` : '';
      console.log(`| ${m.name} | ${d.attack} ${d.eps_text} | ${d.branch} | ${d.auroc.mean.toFixed(3)} ± ${d.auroc.std === null ? '-' : d.auroc.std.toFixed(3)}${ci} |`);
    }
}
console.log(`\n${exp.seeds.length} seeds (${exp.seeds.join(', ')}); ${exp.evaluation.queries} attacked queries against ${exp.evaluation.gallery}; wall ${(exp.wall_seconds / 3600).toFixed(2)} h; finished ${exp.finished_at}`);
