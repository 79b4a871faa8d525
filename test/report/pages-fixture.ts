// A small real experiment for the report pages: baseline and MDProp, two seeds each, trained and
// evaluated with the library on 32 MNIST images (a few seconds each), laid out as an experiment
// directory (<method>/seed-<s>/) with experiment.json built from the runs' own eval.json files,
// and a views.json written by hand whose indices name real images of the 40-image test split.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { limitEvaluation, openDataset } from '../../src/data/index.js';
import { evaluate } from '../../src/evaluate/index.js';
import { experimentRunPath, experimentSchema, RunDirectory, viewsSchema, type ExperimentFile, type ViewsFile } from '../../src/formats/index.js';
import { meanInterval, pairedDifference, sampleStd } from '../../src/report/index.js';
import { train } from '../../src/train/index.js';

export const METHODS = ['baseline', 'mdprop'] as const;
export const SEEDS = [0, 1];
export const LIMIT_TEST = 40;
const EVAL = { attacks: ['stax', 'untargeted'] as ('stax' | 'untargeted')[], eps: [0.05, 0.2], iters: 2, limit: 10 };

export async function trainRun(out: string, method: (typeof METHODS)[number], seed: number): Promise<void> {
  await train({ dataset: 'mnist', method, embedDim: 16, epochs: 2, batchSize: 8, limitTrain: 32, limitTest: LIMIT_TEST, evalBatchSize: 20, threads: 1, seed, out });
  await evaluate(out, EVAL);
}

/** A views.json over the run's limited test split: points clustered by class, 12 queries with 8 neighbours each. */
export async function writeViews(runDir: string, seed: number): Promise<ViewsFile> {
  const { query } = limitEvaluation((await openDataset('mnist')).evaluation, LIMIT_TEST);
  const labels = Array.from(query.labels);
  const neighbours = (q: number, step: number) =>
    Array.from({ length: 8 }, (_, k) => (q + 1 + k * step) % labels.length).map((index) => ({ index, label: labels[index]!, correct: labels[index] === labels[q] }));
  const views = viewsSchema.parse({
    format: 'mdprop.views/1',
    query_split: query.name,
    gallery_split: query.name,
    map: {
      seed,
      points: labels.map((label, index) => ({ x: Math.cos(label * 1.3) * 5 + (index % 7) * 0.3, y: Math.sin(label * 1.3) * 5 + (index % 5) * 0.3, label, index })),
    },
    gallery: {
      attack: 'stax',
      eps: 0.2,
      iters: 2,
      k: 8,
      // Every third image: the limited split keeps each class's images together, so this spans the classes.
      queries: Array.from({ length: 12 }, (_, i) => 3 * i).map((index) => ({ index, label: labels[index]!, clean: neighbours(index, 5), attacked: neighbours(index, 3) })),
    },
  });
  writeFileSync(new RunDirectory(runDir).file('views'), JSON.stringify(views));
  return views;
}

const stat = (values: number[]) => ({ mean: meanInterval(values).estimate, std: values.length > 1 ? sampleStd(values) : null, values });

/** experiment.json from the runs' eval.json files, differences to the first method with t intervals. */
export function writeExperiment(dir: string): ExperimentFile {
  const evals = METHODS.map((m) => SEEDS.map((s) => new RunDirectory(join(dir, experimentRunPath(m, s))).readEval()));
  const first = evals[0]![0]!;
  const cleanNames = Object.keys(first.clean);
  const methods = METHODS.map((name, m) => ({
    name,
    runs: SEEDS.map((s) => experimentRunPath(name, s)),
    clean: Object.fromEntries(cleanNames.map((k) => [k, stat(evals[m]!.map((e) => e.clean[k]!))])),
    robust: first.attacks.map((a, i) => ({ attack: a.attack, eps: a.eps, iters: a.iters, 'recall@1': stat(evals[m]!.map((e) => e.attacks[i]!['recall@1'])) })),
  }));
  const difference = (metric: string, values: (m: number) => number[], where: object = {}) => {
    const d = pairedDifference(values(1), values(0));
    return { method: METHODS[1], baseline: METHODS[0], metric, ...where, mean: d.estimate, ci95: [d.lo, d.hi], values: d.differences, significant: d.lo > 0 || d.hi < 0 };
  };
  const differences = [
    ...cleanNames.map((k) => difference(k, (m) => evals[m]!.map((e) => e.clean[k]!))),
    ...first.attacks.map((a, i) => difference('recall@1', (m) => evals[m]!.map((e) => e.attacks[i]!['recall@1']), { attack: a.attack, eps: a.eps, iters: a.iters })),
  ];
  const experiment = experimentSchema.parse({
    format: 'mdprop.experiment/1',
    preset: null,
    dataset: 'mnist',
    methods,
    differences,
    seeds: SEEDS,
    train: { epochs: 2, batchSize: 8, embedDim: 16, limitTrain: 32, limitTest: LIMIT_TEST },
    evaluation: { attacks: EVAL.attacks, eps: EVAL.eps, iters: EVAL.iters, limit: EVAL.limit, queries: first.settings.queries, gallery: first.settings.gallery },
    model_selection: 'best-test',
    wall_seconds: 12,
    finished_at: new Date(0).toISOString(),
  });
  writeFileSync(join(dir, 'experiment.json'), JSON.stringify(experiment, null, 2));
  return experiment;
}

/** Trains and evaluates every run, writes views.json for seed 0 of each method and experiment.json. */
export async function buildExperimentDir(dir: string): Promise<ExperimentFile> {
  for (const method of METHODS)
    for (const seed of SEEDS) {
      const out = join(dir, experimentRunPath(method, seed));
      await trainRun(out, method, seed);
      if (seed === SEEDS[0]) await writeViews(out, seed);
    }
  return writeExperiment(dir);
}
