// A complete report page from synthetic experiment results: every chart type, tables with marked
// differences, an embedding map per method, a retrieval gallery and an embedded PNG image.
import { Random } from '../../src/data/random.js';
import { embeddingMap } from '../../src/evaluate/index.js';
import {
  bootstrapDifference,
  differenceCell,
  differenceChart,
  formatInterval,
  imageToPng,
  lineBandChart,
  meanInterval,
  pairedDifference,
  renderGallery,
  renderReportPage,
  renderSvg,
  robustnessChart,
  scatterChart,
  type GalleryRow,
  type PixelImage,
  type RobustnessResult,
  type SeedSeries,
} from '../../src/report/index.js';

const methods = ['baseline', 'mdprop'] as const;
const seeds = [0, 1, 2];
const attacks = ['stax', 'mtax', 'untargeted'];

/** A 28x28 grey "glyph": a ring whose radius depends on the class, plus noise. */
function glyph(label: number, rng: Random): PixelImage {
  const pixels = new Float32Array(28 * 28);
  for (let y = 0; y < 28; y++)
    for (let x = 0; x < 28; x++) {
      const r = Math.hypot(x - 13.5, y - 13.5);
      pixels[y * 28 + x] = Math.max(0, 1 - Math.abs(r - 4 - label) / 1.5) * 0.9 + 0.1 * rng.next();
    }
  return { pixels, width: 28, height: 28, channels: 1 };
}

function blobs(rng: Random, n: number, dim: number, separation: number) {
  const embeddings = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 5;
    for (let j = 0; j < dim; j++) embeddings[i * dim + j] = (j === labels[i] ? separation : 0) + rng.uniform(-1, 1);
  }
  return { embeddings, dim, labels };
}

/** The page's HTML (a few seconds of UMAP at these sizes). */
export async function buildSyntheticReport(): Promise<string> {
  const rng = new Random(11, 'report-fixture');
  const training: SeedSeries[] = methods.flatMap((method, m) =>
    seeds.map((seed) => ({ method, seed, points: Array.from({ length: 12 }, (_, e) => ({ x: e + 1, y: (1.2 - 0.1 * m) * Math.exp(-e / 5) + 0.1 * rng.next() })) })),
  );
  const robustness: RobustnessResult[] = [];
  for (const attack of attacks)
    for (const [m, method] of methods.entries())
      for (const seed of seeds)
        for (const eps of [0, 0.005, 0.01, 0.02]) robustness.push({ attack, method, seed, eps, recall1: Math.max(0, 0.78 + 0.02 * m - eps * (m ? 12 : 25) + 0.06 * rng.next()) });
  const clean = methods.map((_, m) => seeds.map(() => 0.78 + 0.02 * m + 0.01 * rng.next()));
  const attacked = methods.map((_, m) => seeds.map(() => 0.5 + 0.1 * m + 0.02 * rng.next()));
  const hitsBase = Float64Array.from({ length: 400 }, () => (rng.next() < 0.78 ? 1 : 0));
  const hitsMd = hitsBase.map((h) => (h === 0 && rng.next() < 0.15 ? 1 : h));
  const differences = [
    { label: 'clean Recall@1 (seeds)', ...pairedDifference(clean[1]!, clean[0]!) },
    { label: 'stax eps=0.01 (seeds)', ...pairedDifference(attacked[1]!, attacked[0]!) },
    { label: 'clean Recall@1 (queries, seed 0)', ...bootstrapDifference(hitsMd, hitsBase, { seed: 1 }) },
  ];
  const maps = methods.map((method, m) => ({ method, points: embeddingMap(blobs(new Random(m, 'emb'), 200, 8, 4 + 4 * m), { seed: 5, nEpochs: 80 }) }));
  const galleryRows: GalleryRow[] = [0, 1, 2].map((label) => ({
    query: glyph(label, rng),
    label,
    neighbours: [label, label, (label + 1) % 3, label].map((l) => ({ image: glyph(l, rng), correct: l === label, label: l, distance: 0.2 + rng.next() })),
  }));
  const rgb: PixelImage = { pixels: Uint8Array.from({ length: 16 * 16 * 3 }, (_, i) => ((i % 3) * 100 + i) % 256), width: 16, height: 16, channels: 3 };
  const [trainingSvg, robustnessSvg, mapSvg, diffSvg] = await Promise.all([
    renderSvg(lineBandChart(training, { title: 'Training loss', xTitle: 'epoch', yTitle: 'loss' })),
    renderSvg(robustnessChart(robustness, { title: 'Recall@1 under attack' })),
    renderSvg(scatterChart(maps, { title: 'Test embeddings (UMAP)' })),
    renderSvg(differenceChart(differences, { title: 'MDProp minus baseline' })),
  ]);
  const pct = (xs: number[]) => formatInterval(meanInterval(xs), { scale: 100 });
  return renderReportPage({
    title: 'Experiment: baseline vs MDProp <synthetic>',
    subtitle: 'fashion-mnist, 3 seeds, made-up numbers for the page test',
    sections: [
      { title: 'Settings', blocks: [{ kind: 'settings', settings: { dataset: 'fashion-mnist', seeds: '0, 1, 2', epochs: 12, 'eps grid': '0, 0.005, 0.01, 0.02', amp: false } }] },
      {
        title: 'Results',
        blocks: [
          {
            kind: 'table',
            caption: 'Recall@1 (%), mean [95% t interval] over seeds',
            columns: ['metric', 'baseline', 'mdprop', 'difference'],
            rows: [
              ['clean', pct(clean[0]!), pct(clean[1]!), differenceCell(differences[0]!)],
              ['stax eps=0.01', pct(attacked[0]!), pct(attacked[1]!), differenceCell(differences[1]!)],
            ],
            note: 'Green: the interval of the difference lies above zero.',
          },
          { kind: 'chart', svg: diffSvg },
        ],
      },
      { title: 'Training', blocks: [{ kind: 'chart', svg: trainingSvg, caption: 'Mean over seeds with min–max band.' }] },
      { title: 'Robustness', blocks: [{ kind: 'chart', svg: robustnessSvg }] },
      { title: 'Embeddings', blocks: [{ kind: 'chart', svg: mapSvg }, { kind: 'image', png: await imageToPng(rgb, { scale: 6 }), alt: 'an RGB test image', caption: 'An embedded PNG.' }] },
      { title: 'Retrieval gallery', blocks: [{ kind: 'html', html: await renderGallery(galleryRows, { caption: 'Query, then its 4 nearest test images.' }) }] },
    ],
  });
}
