// `evaluate(run or model, options)`: clean retrieval, then every attack at every budget, the
// attacked queries retrieved from the clean gallery (the whole test split; a query never retrieves
// its own clean copy). Returns eval.json's content and writes it (see options.out).
import {
  CleanGallery,
  disposeRange,
  GalleryClusters,
  measureRobustness,
  normalizedPixelRange,
  queryIndices,
  splitQuerySource,
  type AttackCondition,
} from '../adversarial/index.js';
import { limitEvaluation, openDataset } from '../data/index.js';
import { writeJsonFile, type EvalFile, type EvalSettings, type LoadedModel } from '../formats/index.js';
import { freezeParameters, setBnRouting } from '../nn/index.js';
import { onDevice, tensor, tidy, type Tensor } from '../torch/index.js';
import { computeWith } from './compute.js';
import { embedSplit } from './embed-split.js';
import { TOP_FRACTION, type EvaluateOptionValues } from './options.js';
import { planEvaluation, type EvalPlan } from './plan.js';
import { evalFileOf } from './results.js';

/** Where an evaluation stands: embedding the gallery, or a condition ('clean' or an attack at a budget). */
export interface EvalProgress {
  stage: 'gallery' | 'queries';
  /** 'clean' or e.g. 'stax eps 0.03'. */
  condition: string;
  /** Which condition (0 = clean) of how many. */
  conditionIndex: number;
  conditions: number;
  /** Images done and in total in this stage and condition. */
  done: number;
  total: number;
}

export interface EvaluateOptions extends EvaluateOptionValues {
  onProgress?: (progress: EvalProgress) => void;
  /** Aborting stops at the next batch of images: the promise rejects with the signal's reason and nothing is written. */
  signal?: AbortSignal;
}

/**
 * Evaluates a run directory (its model file, config.json's data settings) or a loaded model.
 * Throws OptionError naming the option at fault before any image is read.
 */
export async function evaluate(source: string | LoadedModel | null, options: EvaluateOptions = {}): Promise<EvalFile> {
  const { onProgress, signal, ...values } = options;
  signal?.throwIfAborted();
  const plan = planEvaluation(source, values);
  // Every batch reports progress, so that is where an abort is noticed.
  const report = (progress: EvalProgress) => {
    signal?.throwIfAborted();
    onProgress?.(progress);
  };
  try {
    return await runPlan(plan, report);
  } finally {
    if (plan.ownsModel) plan.loaded.model.dispose();
  }
}

async function runPlan(plan: EvalPlan, onProgress: EvaluateOptions['onProgress']): Promise<EvalFile> {
  const { model } = plan.loaded;
  computeWith(model, plan.compute);
  // Attacks need input gradients only: the weights stay out of autograd while evaluating.
  const thaw = freezeParameters(model);
  try {
    return await measurePlan(plan, onProgress);
  } finally {
    thaw();
  }
}

async function measurePlan(plan: EvalPlan, onProgress: EvaluateOptions['onProgress']): Promise<EvalFile> {
  const { model } = plan.loaded;
  const { device, transform } = plan.compute;
  const embed = (x: Tensor) => model.forward(x);
  const dataset = await openDataset(plan.dataset, plan.dataRoot === undefined ? {} : { root: plan.dataRoot });
  const { query, gallery: gallerySplit, sameSet } = limitEvaluation(dataset.evaluation, plan.limitTest);

  const { rows, dim } = await embedSplit(embed, gallerySplit, {
    transform,
    batchSize: Math.max(plan.batchSize, 128),
    device,
    onProgress: (done, total) => onProgress?.({ stage: 'gallery', condition: 'clean', conditionIndex: 0, conditions: 1, done, total }),
  });
  // The gallery keeps its own normalised copy; the rest is freed.
  const gallery = tidy(() => new CleanGallery(onDevice(tensor(rows, [gallerySplit.size, dim]), device), gallerySplit.labels));
  const clusters = new GalleryClusters(gallery, plan.seed);
  const range = normalizedPixelRange(transform.mean, transform.std, device);
  try {
    const indices = queryIndices(query.size, plan.limit, plan.seed);
    const queries = splitQuerySource(query, { indices, galleryIsSplit: sameSet, transform, batchSize: plan.batchSize });
    const label = (c: AttackCondition | null) => (c ? `${c.attack} eps ${c.budget.text}` : 'clean');
    const result = await measureRobustness(plan.conditions, {
      embed,
      device,
      gallery,
      clusters,
      queries,
      pgd: { norm: plan.norm, ...(plan.stepSize ? { stepSize: plan.stepSize } : {}), randomStart: plan.randomStart, range, std: transform.std },
      suite: { mtaxTargets: plan.mtaxTargets, rankPartners: plan.rankPartners, topFraction: TOP_FRACTION, seed: plan.seed },
      ks: plan.ks,
      ...(plan.conditionsPerPass === undefined ? {} : { conditionsPerPass: plan.conditionsPerPass }),
      ...(plan.detectBranches ? { detect: { branches: plan.detectBranches, embedBranch: (x: Tensor, branch: number) => throughBranch(plan, x, branch) } } : {}),
      onProgress: (c, done, total) =>
        onProgress?.({ stage: 'queries', condition: label(c), conditionIndex: c ? plan.conditions.indexOf(c) + 1 : 0, conditions: plan.conditions.length + 1, done, total }),
    });
    const report = evalFileOf(result.clean, result.conditions, plan.ks, settingsOf(plan, queries.size, gallery.size), indices, plan.detectBranches ?? undefined);
    if (plan.out !== null) writeJsonFile(plan.out, report);
    return report;
  } finally {
    disposeRange(range);
    clusters.dispose();
    gallery.dispose();
  }
}

/** Embeddings through BN branch `branch`, the model routed back to the evaluated branch after. */
function throughBranch(plan: EvalPlan, x: Tensor, branch: number): Tensor {
  const { model } = plan.loaded;
  setBnRouting(model, { kind: 'branch', branch });
  try {
    return model.forward(x);
  } finally {
    setBnRouting(model, { kind: 'branch', branch: plan.loaded.branch });
  }
}

function settingsOf(plan: EvalPlan, queries: number, gallery: number): EvalSettings {
  const { device, transform } = plan.compute;
  return {
    run: plan.runDir,
    weights: plan.loaded.path,
    dataset: plan.dataset,
    data_root: plan.dataRoot ?? null,
    arch: plan.loaded.arch,
    embed_dim: plan.loaded.embedDim,
    branch: plan.loaded.branch,
    branches: plan.loaded.branches,
    image_size: transform.crop,
    test_resize: transform.resize,
    channels: transform.channels,
    queries,
    gallery,
    limit: plan.limit ?? null,
    limit_test: plan.limitTest ?? null,
    seed: plan.seed,
    norm: plan.norm,
    step_size: plan.stepSize?.text ?? '2.5*eps/iters',
    random_start: plan.randomStart,
    mtax_targets: plan.mtaxTargets,
    rank_partners: plan.rankPartners,
    top_fraction: TOP_FRACTION,
    ks: plan.ks,
    device,
    profile: plan.profile ?? null,
    iters: plan.iters,
    input_mean: [...transform.mean],
    input_std: [...transform.std],
    precision: plan.compute.precision,
    memory_format: plan.compute.memoryFormat,
  };
}
