// views.json of a run (schema: src/formats/views-file.ts): what its report draws from the model.
// The run's test set (as training evaluated it) is embedded once; a seeded UMAP of it gives the
// map, and a dozen seeded queries give the gallery: their nearest clean-gallery images, then the
// nearest ones after a feature-space attack on the query (the attack of `mdprop eval`).
import {
  CleanGallery,
  disposeRange,
  featurePgd,
  normalizedPixelRange,
  parseBudget,
  pgdOptionsFor,
  prepareAttack,
  type AttackName,
} from '../adversarial/index.js';
import { evaluationLoader, inputScaling, limitEvaluation, openDataset, Random, SubsetSplit, testTransform, type DataSplit } from '../data/index.js';
import { loadModelFile, RunDirectory, writeJsonFile, type Neighbour, type ViewsFile } from '../formats/index.js';
import * as T from '../torch/index.js';
import { noGrad, tidy, type Tensor } from '../torch/index.js';
import { embeddingMap } from './embedding-map.js';
import { embedSplit } from './embed-split.js';

export interface ViewsOptions {
  /** Points on the map (a stratified seeded subsample); default 1500. */
  mapPoints?: number;
  /** Queries in the gallery; default 12. */
  queries?: number;
  /** Neighbours per query; default 8. */
  k?: number;
  attack?: AttackName;
  /** A budget as `mdprop eval` takes it: normalised units (0.1) or a pixel fraction ('4/255'). */
  eps?: number | string;
  iters?: number;
  seed?: number;
}

/** Computes a run's views and writes views.json; returns them. */
export async function writeRunViews(runDir: string, options: ViewsOptions = {}): Promise<ViewsFile> {
  const run = RunDirectory.open(runDir);
  const config = run.readConfig();
  const seed = options.seed ?? config.seed;
  const k = options.k ?? 8;
  const attack = options.attack ?? 'stax';
  const budget = parseBudget(String(options.eps ?? 0.1));
  const iters = options.iters ?? 10;
  const loaded = loadModelFile(run.file('model'));
  try {
    const dataset = await openDataset(config.dataset, config.dataRoot === null ? {} : { root: config.dataRoot });
    const { query, gallery: gallerySplit, sameSet } = limitEvaluation(dataset.evaluation, config.limitTest ?? undefined);
    const transform = testTransform({ resize: config.testResize, crop: config.imageSize, channels: config.channels, ...inputScaling(config.normalization, config.channels) });
    const embed = (x: Tensor) => loaded.model.forward(x);
    const settings = { transform, batchSize: config.evalBatchSize, device: 'cpu' };
    const galleryRows = await embedSplit(embed, gallerySplit, settings);
    const map = embeddingMap({ embeddings: galleryRows.rows, dim: galleryRows.dim, labels: gallerySplit.labels }, { seed, maxPoints: options.mapPoints ?? 1500 });

    const count = Math.min(options.queries ?? 12, query.size);
    const chosen = Array.from(new Random(seed, 'report-gallery').permutation(query.size).subarray(0, count)).sort((a, b) => a - b);
    const images = await loadImages(query, chosen, transform);
    const gallery = new CleanGallery(T.tensor(galleryRows.rows, [gallerySplit.size, galleryRows.dim]), gallerySplit.labels);
    const range = normalizedPixelRange(transform.mean, transform.std);
    try {
      const labels = Int32Array.from(chosen, (i) => query.labels[i]!);
      const ownRows = Int32Array.from(chosen, (i) => (sameSet ? i : -1));
      const neighbours = tidy(() => {
        const x = T.tensor(images, [count, config.channels, config.imageSize, config.imageSize]);
        const clean = noGrad(() => embed(x));
        T.manualSeed(new Random(seed, 'report-gallery', 'attack').nextUint32());
        const prepared = prepareAttack(attack, { images: x, clean, labels, ids: Int32Array.from(chosen), ownRows }, gallery, { mtaxTargets: 5, rankPartners: 1, topFraction: 0.01, seed });
        const condition = { attack, budget, iters };
        const adversarial = featurePgd(embed, x, prepared.goal, pgdOptionsFor(condition, { norm: 'linf', randomStart: 'budget', range, std: transform.std }));
        const attacked = noGrad(() => embed(adversarial));
        return { clean: gallery.nearestK(clean, ownRows, k), attacked: gallery.nearestK(attacked, ownRows, k) };
      });
      const width = neighbours.clean.length / count;
      const list = (rows: Int32Array, q: number): Neighbour[] =>
        Array.from(rows.subarray(q * width, (q + 1) * width), (row) => ({ index: row, label: gallerySplit.labels[row]!, correct: gallerySplit.labels[row] === labels[q] }));
      const views: ViewsFile = {
        format: 'mdprop.views/1',
        query_split: query.name,
        gallery_split: gallerySplit.name,
        map: { seed, points: map.map((p) => ({ x: p.x, y: p.y, label: p.label, index: p.index })) },
        gallery: {
          attack,
          eps: budget.value,
          iters,
          k: width,
          queries: chosen.map((index, q) => ({ index, label: labels[q]!, clean: list(neighbours.clean, q), attacked: list(neighbours.attacked, q) })),
        },
      };
      writeJsonFile(run.file('views'), views);
      return views;
    } finally {
      disposeRange(range);
      gallery.dispose();
    }
  } finally {
    loaded.model.dispose();
  }
}

/** The chosen images of a split, transformed and packed NCHW. */
async function loadImages(split: DataSplit, indices: readonly number[], transform: ReturnType<typeof testTransform>): Promise<Float32Array> {
  const loader = evaluationLoader(new SubsetSplit(split, Int32Array.from(indices)), { batchSize: indices.length, transform });
  for await (const batch of loader.epoch()) return batch.images;
  throw new Error(`${split.dataset} ${split.name}: no images to show`);
}
