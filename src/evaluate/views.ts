// views.json of a run (schema: src/formats/views-file.ts): what its report draws from the model.
// The run's test set (as training evaluated it) is embedded once; a seeded UMAP of it gives the
// map, and a dozen seeded queries give the gallery: their nearest clean-gallery images, then the
// nearest ones after a feature-space attack on the query. The model, data, compute setting, attack
// and defaults are planned by evaluate()'s own planEvaluation.
import { CleanGallery, disposeRange, featurePgd, normalizedPixelRange, pgdOptionsFor, prepareAttack } from '../adversarial/index.js';
import { evaluationLoader, limitEvaluation, openDataset, Random, SubsetSplit, type DataSplit, type TestTransform } from '../data/index.js';
import { RunDirectory, writeJsonFile, type Neighbour, type ViewsFile } from '../formats/index.js';
import { freezeParameters } from '../nn/index.js';
import * as T from '../torch/index.js';
import { noGrad, onDevice, tidy, type Tensor } from '../torch/index.js';
import { computeWith } from './compute.js';
import { embeddingMap } from './embedding-map.js';
import { embedSplit } from './embed-split.js';
import { EVALUATE_DEFAULTS, TOP_FRACTION, type EvaluateOptionValues } from './options.js';
import { planEvaluation } from './plan.js';

/** What to draw, and evaluate()'s options for the attack and the compute setting (one attack, one budget). */
export interface ViewsOptions extends Pick<EvaluateOptionValues, 'iters' | 'norm' | 'stepSize' | 'randomStart' | 'mtaxTargets' | 'seed' | 'device' | 'threads' | 'precision' | 'memoryFormat'> {
  /** Points on the map (a stratified seeded subsample); default 1500. */
  mapPoints?: number;
  /** Queries in the gallery; default 12. */
  queries?: number;
  /** Neighbours per query; default 8. */
  k?: number;
  /** The attack of the gallery's second rows; default evaluate()'s first. */
  attack?: NonNullable<EvaluateOptionValues['attacks']>[number];
  /** Its budget as evaluate() takes one; default the middle of evaluate()'s. */
  eps?: number | string;
}

/** Computes a run's views and writes views.json; returns them. */
export async function writeRunViews(runDir: string, options: ViewsOptions = {}): Promise<ViewsFile> {
  const { mapPoints = 1500, queries = 12, k = 8, attack = EVALUATE_DEFAULTS.attacks[0]!, eps = EVALUATE_DEFAULTS.eps[Math.floor(EVALUATE_DEFAULTS.eps.length / 2)]!, ...settings } = options;
  // The run, its model, its test split and the attack are planned as evaluate() plans them.
  const plan = planEvaluation(runDir, { ...settings, attacks: [attack], eps: [eps], out: null });
  const { model } = plan.loaded;
  const { device, transform } = plan.compute;
  const condition = plan.conditions[0]!;
  const seed = plan.seed;
  try {
    computeWith(model, plan.compute);
    const thaw = freezeParameters(model);
    try {
      const dataset = await openDataset(plan.dataset, plan.dataRoot === undefined ? {} : { root: plan.dataRoot });
      const { query, gallery: gallerySplit, sameSet } = limitEvaluation(dataset.evaluation, plan.limitTest);
      const embed = (x: Tensor) => model.forward(x);
      const galleryRows = await embedSplit(embed, gallerySplit, { transform, batchSize: Math.max(plan.batchSize, 128), device });
      const map = embeddingMap({ embeddings: galleryRows.rows, dim: galleryRows.dim, labels: gallerySplit.labels }, { seed, maxPoints: mapPoints });

      const count = Math.min(queries, query.size);
      const chosen = Array.from(new Random(seed, 'report-gallery').permutation(query.size).subarray(0, count)).sort((a, b) => a - b);
      const images = await loadImages(query, chosen, transform);
      const gallery = tidy(() => new CleanGallery(onDevice(T.tensor(galleryRows.rows, [gallerySplit.size, galleryRows.dim]), device), gallerySplit.labels));
      const range = normalizedPixelRange(transform.mean, transform.std, device);
      try {
        const labels = Int32Array.from(chosen, (i) => query.labels[i]!);
        const ownRows = Int32Array.from(chosen, (i) => (sameSet ? i : -1));
        const neighbours = tidy(() => {
          const x = T.tensor(images, [count, transform.channels, transform.crop, transform.crop], { device });
          const clean = noGrad(() => embed(x));
          T.manualSeed(new Random(seed, 'report-gallery', 'attack').nextUint32());
          const suite = { mtaxTargets: plan.mtaxTargets, rankPartners: plan.rankPartners, topFraction: TOP_FRACTION, seed };
          const prepared = prepareAttack(condition.attack, { images: x, clean, labels, ids: Int32Array.from(chosen), ownRows }, gallery, suite);
          const pgd = { norm: plan.norm, ...(plan.stepSize ? { stepSize: plan.stepSize } : {}), randomStart: plan.randomStart, range, std: transform.std };
          const adversarial = featurePgd(embed, x, prepared.goal, pgdOptionsFor(condition, pgd));
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
            attack: condition.attack,
            eps: condition.budget.value,
            iters: condition.iters,
            k: width,
            queries: chosen.map((index, q) => ({ index, label: labels[q]!, clean: list(neighbours.clean, q), attacked: list(neighbours.attacked, q) })),
          },
        };
        writeJsonFile(new RunDirectory(runDir).file('views'), views);
        return views;
      } finally {
        disposeRange(range);
        gallery.dispose();
      }
    } finally {
      thaw();
    }
  } finally {
    model.dispose();
  }
}

/** The chosen images of a split, transformed and packed NCHW. */
async function loadImages(split: DataSplit, indices: readonly number[], transform: TestTransform): Promise<Float32Array> {
  const loader = evaluationLoader(new SubsetSplit(split, Int32Array.from(indices)), { batchSize: indices.length, transform });
  for await (const batch of loader.epoch()) return batch.images;
  throw new Error(`${split.dataset} ${split.name}: no images to show`);
}
