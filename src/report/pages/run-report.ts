// The report of one run directory, rebuilt from its files alone: settings (config.json), training
// curves (metrics.jsonl), clean metrics (summary.json), attacked retrieval (eval.json), and the
// embedding map and retrieval gallery (views.json). A part whose file is missing is left out
// with one line naming the command that writes it.
import { methodName, RUN_FILES, RunDirectory, type EvalFile, type RunSummary } from '../../formats/index.js';
import { writeFileAtomic } from '../../torch/index.js';
import { lineBandChart, robustnessChart, scatterChart } from '../charts/charts.js';
import { renderReportPage, type Block, type Cell, type Section } from './html.js';
import { renderSvg } from '../charts/render.js';
import { flatSettings, formatMetric, metricLabel, orderMetrics, robustnessPoints, SELECTION_TEXT, summarySelection, trainingCurves } from './report-data.js';
import { galleryOrNote, mapPanel, tryViewImages } from './views-blocks.js';

/** The command that writes each optional file, for the line that stands in for a missing part. */
export const WRITTEN_BY = {
  metrics: '`mdprop train` writes it as training goes',
  summary: '`mdprop train` writes it when training finishes (`mdprop train --resume DIR` finishes an interrupted run)',
  eval: '`mdprop eval --run DIR` writes it',
  views: '`mdprop experiment` writes it for each of its runs',
} as const;

const missing = (file: keyof typeof WRITTEN_BY): Block => ({ kind: 'paragraph', text: `No ${RUN_FILES[file]} in this run: ${WRITTEN_BY[file]}.` });

async function trainingSection(run: RunDirectory, method: string, seed: number): Promise<Section> {
  const lines = run.readMetrics();
  if (lines.length === 0) return { title: 'Training', blocks: [missing('metrics')] };
  const curves = trainingCurves(lines, method, seed);
  const charts = [];
  if (curves.loss.points.length > 0) charts.push(lineBandChart([curves.loss], { title: 'Training loss', subtitle: 'mean over each epoch', xTitle: 'epoch', yTitle: 'loss', width: 380 }));
  if (curves.recall.points.length > 0) charts.push(lineBandChart([curves.recall], { title: 'Test Recall@1', subtitle: 'at each evaluation', xTitle: 'epoch', yTitle: 'Recall@1', width: 380 }));
  return { title: 'Training', blocks: [{ kind: 'charts', svgs: await Promise.all(charts.map((c) => renderSvg(c))), caption: `From ${RUN_FILES.metrics}.` }] };
}

function cleanSection(run: RunDirectory, summary: RunSummary): Section {
  const { selection, recorded, epoch } = summarySelection(run);
  const which = `${SELECTION_TEXT[selection]}${epoch === null ? '' : `, epoch ${epoch}`}`;
  // The final epoch's numbers beside the chosen model's, when that is another epoch.
  const showFinal = summary.final_test !== null && epoch !== null && summary.final_epoch !== epoch;
  const columns = ['metric', `model (epoch ${epoch ?? '?'})`, ...(showFinal ? [`final epoch (${summary.final_epoch ?? '?'})`] : [])];
  const rows = orderMetrics(Object.keys(summary.test)).map((m): Cell[] => [
    metricLabel(m),
    formatMetric(m, summary.test[m]!),
    ...(showFinal ? [summary.final_test![m] === undefined ? null : formatMetric(m, summary.final_test![m]!)] : []),
  ]);
  const text =
    `The run's model is ${which}${recorded ? '' : ` (${RUN_FILES.summary} does not name its choice: runs that predate the field always kept that epoch)`}. ` +
    `Metrics on ${summary.test_images} test images, every image a query against all others; rates in %.`;
  return { title: 'Clean retrieval', blocks: [{ kind: 'paragraph', text }, { kind: 'table', columns, rows }] };
}

/** RobRank's ERS per budget, each component raw and rescaled (older files hold no raw values and are left out). */
function ersBlocks(evaluation: EvalFile): Block[] {
  const profile = evaluation.settings.profile ? ` (profile ${evaluation.settings.profile})` : '';
  return evaluation.ers.flatMap((e): Block[] => {
    const parts = Object.entries(e.components).filter((entry): entry is [string, { raw: number; rescaled: number }] => typeof entry[1] === 'object');
    if (parts.length === 0 || e.score === null) return [];
    const without = e.missing.length ? `; without ${e.missing.join(', ')}` : '';
    const text = `RobRank's empirical robustness score at eps ${e.eps_text}, ${e.iters} iterations${profile}: ${(100 * e.score).toFixed(1)}, the mean of its components, each rescaled so that 100 is robust${without}.`;
    const rows = parts.map(([name, v]): Cell[] => [name, v.raw.toFixed(4), (100 * v.rescaled).toFixed(1)]);
    return [{ kind: 'paragraph', text }, { kind: 'table', columns: ['component', 'raw measure', 'rescaled (%)'], rows }];
  });
}

async function attackSection(evaluation: EvalFile, method: string, seed: number): Promise<Section> {
  const s = evaluation.settings;
  const rate = (v: number | undefined) => (v === undefined ? null : (100 * v).toFixed(2));
  const rows: Cell[][] = [['clean', '', '', rate(evaluation.clean['recall@1']), rate(evaluation.clean['map@r']), null]];
  for (const a of evaluation.attacks) rows.push([a.attack, a.eps, a.iters, rate(a['recall@1']), rate(a['map@r']), rate(a.success_rate)]);
  const text =
    `${s.queries} test queries attacked in feature space (${s.norm === 'linf' ? 'L∞' : 'L2'} budget eps, step size ${s.step_size}), each retrieved from the clean gallery of ${s.gallery} images; ` +
    `the clean row is the same queries unattacked. Rates in %.`;
  const blocks: Block[] = [{ kind: 'paragraph', text }, { kind: 'table', columns: ['attack', 'eps', 'iterations', 'Recall@1', 'MAP@R', 'success rate'], rows }];
  if (evaluation.attacks.length > 0) {
    const points = robustnessPoints(
      method,
      [seed],
      evaluation.attacks.map((a) => ({ attack: a.attack, eps: a.eps, iters: a.iters, values: [a['recall@1']] })),
      evaluation.clean['recall@1'] === undefined ? null : [evaluation.clean['recall@1']],
    );
    const svg = await renderSvg(robustnessChart(points, { title: 'Recall@1 under attack', subtitle: 'eps 0: the clean queries', width: 200, height: 180 }));
    blocks.push({ kind: 'chart', svg });
  }
  blocks.push(...ersBlocks(evaluation));
  return { title: 'Under attack', blocks };
}

async function viewsSections(run: RunDirectory, method: string): Promise<Section[]> {
  if (!run.has('views')) return [{ title: 'Embeddings and retrieval', blocks: [missing('views')] }];
  const views = run.readViews();
  const images = await tryViewImages(run.readConfig(), views);
  const map = await renderSvg(scatterChart([mapPanel(views, method, images instanceof Error ? null : images)], { title: 'Test embeddings in 2-D (UMAP)', width: 360, height: 320 }));
  const mapCaption = `${views.map.points.length} ${views.query_split} images, coloured by class; map seed ${views.map.seed}.`;
  return [
    { title: 'Embedding map', blocks: [{ kind: 'chart', svg: map, caption: mapCaption }] },
    { title: 'Retrieval gallery', blocks: [await galleryOrNote(views, images)] },
  ];
}

/** The run's report page as HTML. Throws naming the folder when it holds no run (no config.json). */
export async function buildRunReport(runDir: string): Promise<string> {
  const run = RunDirectory.open(runDir);
  const config = run.readConfig();
  const method = methodName(config.method);
  const summary = run.has('summary') ? run.readSummary() : null;
  const sections: Section[] = [
    { title: 'Settings', blocks: [{ kind: 'settings', caption: RUN_FILES.config, settings: flatSettings(config), columns: 2 }] },
    await trainingSection(run, method, config.seed),
    summary ? cleanSection(run, summary) : { title: 'Clean retrieval', blocks: [missing('summary')] },
    run.has('eval') ? await attackSection(run.readEval(), method, config.seed) : { title: 'Under attack', blocks: [missing('eval')] },
    ...(await viewsSections(run, method)),
  ];
  const subtitle = `${config.dataset}, seed ${config.seed}, ${config.epochs} epoch${config.epochs === 1 ? '' : 's'}${summary ? `, finished ${summary.finished_at}` : ', not finished'} — ${runDir}`;
  return renderReportPage({ title: `Run: ${method}`, subtitle, sections });
}

/** Writes `<runDir>/report.html` atomically and returns its path. */
export async function writeRunReport(runDir: string): Promise<string> {
  const html = await buildRunReport(runDir);
  const file = new RunDirectory(runDir).file('report');
  writeFileAtomic(file, [Buffer.from(html, 'utf8')]);
  return file;
}
