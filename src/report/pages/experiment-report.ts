// The report of an experiment directory (experiment.json and its runs OUT/<method>/seed-<s>/),
// rebuilt from files alone: a short summary of what the intervals show, the results table with
// differences to the baseline, a difference chart, training and robustness curves over seeds, an
// embedding map and a retrieval gallery per method, and last the settings.
import { ExperimentDirectory, type ExperimentFile, type RunDirectory, type ViewsFile } from '../../formats/index.js';
import { writeFileAtomic } from '../../torch/index.js';
import { differenceChart, lineBandChart, robustnessChart, scatterChart, type ScatterPanel, type SeedSeries } from '../charts/charts.js';
import { differenceRows, resultsTable, summaryParagraphs } from './experiment-results.js';
import { renderReportPage, type Block, type Section } from './html.js';
import { renderSvg } from '../charts/render.js';
import { flatSettings, robustnessPoints, SELECTION_TEXT, trainingCurves } from './report-data.js';
import type { ViewImages } from './view-images.js';
import { galleryOrNote, mapPanel, tryViewImages } from './views-blocks.js';

interface MethodRuns {
  name: string;
  runs: { seed: number; dir: RunDirectory }[];
}

function methodRuns(dir: ExperimentDirectory, exp: ExperimentFile): MethodRuns[] {
  return exp.methods.map((m) => ({ name: m.name, runs: m.runs.map((path, i) => ({ seed: exp.seeds[i] ?? i, dir: dir.run(path) })) }));
}

function settingsSection(exp: ExperimentFile): Section {
  const e = exp.evaluation;
  const settings = {
    dataset: exp.dataset,
    preset: exp.preset,
    methods: exp.methods.map((m) => m.name).join(', '),
    baseline: exp.methods[0]?.name ?? null,
    seeds: exp.seeds.join(', '),
    'model selection': SELECTION_TEXT[exp.model_selection],
    attacks: e.attacks.join(', '),
    eps: e.eps.join(', '),
    'attack iterations': e.iters,
    'attacked queries': e.limit === null ? `${e.queries} (all)` : `${e.queries} (limit ${e.limit})`,
    gallery: e.gallery,
    'wall time': `${(exp.wall_seconds / 60).toFixed(1)} min`,
    finished: exp.finished_at,
  };
  return {
    title: 'Settings',
    blocks: [
      { kind: 'settings', caption: 'Experiment', settings },
      { kind: 'settings', caption: 'Training (shared by every run)', settings: flatSettings(exp.train), columns: Object.keys(exp.train).length > 12 ? 2 : 1 },
    ],
  };
}

async function resultsSection(exp: ExperimentFile): Promise<Section> {
  const blocks: Block[] = summaryParagraphs(exp).map((text) => ({ kind: 'paragraph', text }));
  blocks.push(resultsTable(exp));
  const rows = differenceRows(exp);
  if (rows.length > 0) {
    const title = `Recall@1 minus ${exp.methods[0]!.name}'s (points), 95% interval over seeds`;
    blocks.push({ kind: 'chart', svg: await renderSvg(differenceChart(rows, { title, xTitle: 'difference in Recall@1 (points)' })) });
  }
  return { title: 'Results', blocks };
}

async function trainingSection(methods: readonly MethodRuns[]): Promise<Section> {
  const loss: SeedSeries[] = [];
  const recall: SeedSeries[] = [];
  for (const m of methods)
    for (const r of m.runs) {
      const curves = trainingCurves(r.dir.readMetrics(), m.name, r.seed);
      if (curves.loss.points.length > 0) loss.push(curves.loss);
      if (curves.recall.points.length > 0) recall.push(curves.recall);
    }
  if (loss.length === 0 && recall.length === 0) return { title: 'Training', blocks: [{ kind: 'paragraph', text: 'No run has a metrics.jsonl: `mdprop train` writes it as training goes.' }] };
  const order = methods.map((m) => m.name);
  const specs = [];
  if (loss.length > 0) specs.push(lineBandChart(loss, { title: 'Training loss', xTitle: 'epoch', yTitle: 'loss', methods: order, width: 330 }));
  if (recall.length > 0) specs.push(lineBandChart(recall, { title: 'Test Recall@1', xTitle: 'epoch', yTitle: 'Recall@1', methods: order, width: 330 }));
  return { title: 'Training', blocks: [{ kind: 'charts', svgs: await Promise.all(specs.map((s) => renderSvg(s))), caption: 'Mean over seeds; the band spans the seeds.' }] };
}

async function robustnessSection(exp: ExperimentFile): Promise<Section> {
  const points = exp.methods.flatMap((m) =>
    robustnessPoints(
      m.name,
      exp.seeds,
      m.robust.map((r) => ({ attack: r.attack, eps: r.eps, iters: r.iters, values: r['recall@1'].values })),
      m.clean['recall@1']?.values ?? null,
    ),
  );
  if (points.length === 0) return { title: 'Robustness', blocks: [{ kind: 'paragraph', text: 'The experiment evaluated no attack.' }] };
  const svg = await renderSvg(robustnessChart(points, { title: 'Recall@1 under attack', methods: exp.methods.map((m) => m.name) }));
  return { title: 'Robustness', blocks: [{ kind: 'chart', svg, caption: 'Mean over seeds with the range of the seeds; eps 0 is the clean Recall@1.' }] };
}

/** Thumbnails are smaller than in a run's report: the page holds a gallery per method. */
const GALLERY_THUMBNAIL = 56;

interface MethodViews {
  method: string;
  seed: number;
  views: ViewsFile;
  images: ViewImages | Error;
}

/** Each method's views from the first seed that has a views.json; the dataset is opened once per settings. */
async function loadViews(methods: readonly MethodRuns[]): Promise<MethodViews[]> {
  const opened = new Map<string, Promise<ViewImages | Error>>();
  const out: MethodViews[] = [];
  for (const m of methods) {
    const run = m.runs.find((r) => r.dir.has('views'));
    if (!run) continue;
    const views = run.dir.readViews();
    const { dataset, dataRoot, limitTest } = run.dir.readConfig();
    const key = JSON.stringify([dataset, dataRoot, limitTest, views.query_split, views.gallery_split]);
    if (!opened.has(key)) opened.set(key, tryViewImages({ dataset, dataRoot, limitTest }, views, GALLERY_THUMBNAIL));
    out.push({ method: m.name, seed: run.seed, views, images: await opened.get(key)! });
  }
  return out;
}

async function viewsSections(methods: readonly MethodRuns[]): Promise<Section[]> {
  const found = await loadViews(methods);
  const absent = methods.filter((m) => !found.some((f) => f.method === m.name)).map((m) => m.name);
  const note: Block[] = absent.length ? [{ kind: 'paragraph', text: `No views.json in any run of ${absent.join(', ')}: \`mdprop experiment\` writes it for each of its runs.` }] : [];
  if (found.length === 0) return [{ title: 'Embeddings and retrieval', blocks: note }];
  const panels: ScatterPanel[] = found.map((f) => mapPanel(f.views, `${f.method} (seed ${f.seed})`, f.images instanceof Error ? null : f.images));
  const map = await renderSvg(scatterChart(panels, { title: 'Test embeddings in 2-D (UMAP)', width: 300, height: 280 }));
  const galleries: Block[] = [];
  for (const f of found) {
    galleries.push({ kind: 'heading', text: `${f.method} (seed ${f.seed})` });
    galleries.push(await galleryOrNote(f.views, f.images));
  }
  return [
    { title: 'Embedding maps', blocks: [{ kind: 'chart', svg: map, caption: 'Each method from the first seed with a views.json; coloured by class.' }, ...note] },
    { title: 'Retrieval galleries', blocks: galleries },
  ];
}

/** The experiment's report page as HTML; throws a FormatError naming experiment.json when it is missing or malformed. */
export async function buildExperimentReport(dir: string): Promise<string> {
  const exp = new ExperimentDirectory(dir).readExperiment();
  const methods = methodRuns(new ExperimentDirectory(dir), exp);
  // What the experiment found comes first; the settings that produced it close the page.
  const sections = [await resultsSection(exp), await trainingSection(methods), await robustnessSection(exp), ...(await viewsSections(methods)), settingsSection(exp)];
  const subtitle = `${exp.dataset}, ${exp.methods.length} methods × ${exp.seeds.length} seeds, finished ${exp.finished_at} — ${dir}`;
  return renderReportPage({ title: `Experiment: ${exp.methods.map((m) => m.name).join(' vs ')}`, subtitle, sections });
}

/** Writes `<dir>/report.html` atomically and returns its path. */
export async function writeExperimentReport(dir: string): Promise<string> {
  const html = await buildExperimentReport(dir);
  const file = new ExperimentDirectory(dir).file('report');
  writeFileAtomic(file, [Buffer.from(html, 'utf8')]);
  return file;
}
