// Prints an experiment as the README's markdown tables.
// - Evaluated with --profile (the reference table): per method the clean metrics of its training
//   runs' own evaluation (summary.json: all test images) and its ERS components, mean over the
//   seeds, and the ERS as mean ± std with the paired difference to the baseline [95% t interval].
// - Otherwise (the Results tables): one row per metric, clean and per attack and eps, with each
//   method's mean ± std and each other method's paired difference to the baseline.
// Then the detector's AUROCs where there are any.
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
const signed = (v) => `${v >= 0 ? '+' : '−'}${pct(Math.abs(v))}`;
const interval = (d) => `${signed(d.mean)}${d.ci95 ? ` [${signed(d.ci95[0])}, ${signed(d.ci95[1])}]` : ''}${d.significant ? ' *' : ''}`;

/** The Results table: rows are metrics, columns the methods and their differences to the baseline. */
function resultsTable() {
  const [base, ...others] = exp.methods;
  const head = ['metric (%)', ...exp.methods.map((m) => m.name), ...others.map((m) => `${m.name} − ${base.name}`)];
  const out = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  const row = (title, valueOf, metric, attack, eps) => {
    const cells = exp.methods.map((m) => { const v = valueOf(m); return v ? `${pct(v.mean)} ± ${pct(v.std)}` : '-'; });
    const diffs = others.map((m) => {
      const d = exp.differences.find((x) => x.method === m.name && x.metric === metric && x.attack === attack && x.eps === eps);
      return d ? interval(d) : '-';
    });
    out.push(`| ${title} | ${[...cells, ...diffs].join(' | ')} |`);
  };
  for (const [key, title] of [['recall@1', 'Recall@1'], ['recall@2', 'Recall@2'], ['map@r', 'MAP@R'], ['nmi', 'NMI']])
    row(`clean ${title}`, (m) => m.clean[key], key, undefined, undefined);
  for (const r of base.robust)
    row(`${r.attack} ε=${r.eps} R@1`, (m) => m.robust.find((x) => x.attack === r.attack && x.eps === r.eps)?.['recall@1'], 'recall@1', r.attack, r.eps);
  return out.join('\n');
}

const components = ['CA+', 'CA-', 'QA+', 'QA-', 'TMA', 'ES:D', 'ES:R', 'LTM', 'GTM', 'GTT'];
if (exp.evaluation.profile == null) console.log(resultsTable());
else console.log(profileTable());

function profileTable() {
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
return lines.join('\n');
}
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
