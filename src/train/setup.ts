// Building what a run trains from its configuration: the data, the method, the model with its
// multi-branch batch norms, the loss, the optimizer with its parameter groups and the schedule.
import {
  ClassBalancedSampler,
  ClassRandomSampler,
  type BatchSampler,
  limitEvaluation,
  limitSplit,
  inputScaling,
  NO_AUGMENTATION,
  openDataset,
  trainTransform,
  type Dataset,
  type DataSplit,
  type TestTransform,
  type TrainTransform,
} from '../data/index.js';
import { createLoss, defaultLossSpec, type DmlLoss, type LearningRate } from '../dml/index.js';
import { computeWith, OptionError, resolveCompute, type ComputeSetting } from '../evaluate/index.js';
import { budgetAmount } from '../adversarial/index.js';
import { modelParameterGroups, presetMethod, type MethodSpec } from '../methods/index.js';
import { convertToMultiBatchNorm, createModel, resetAuxRunningStats, syncAuxBranches, type EmbeddingModel } from '../nn/index.js';
import { Adam, AdamW, cosineAnnealing, DynamicLossScale, LrScheduler, SGD, type AnyOptimizer, type Schedule } from '../optim/index.js';
import { manualSeed, type Tensor } from '../torch/index.js';
import { ConfigError, setting, type ConfigField, type TrainConfig } from './config.js';
import { checkTrainingData } from './data-health.js';
import { loadPretrained } from './pretrained.js';

export interface TrainingData {
  train: DataSplit;
  evaluation: Dataset['evaluation'];
  trainTransform: TrainTransform;
  testTransform: TestTransform;
  /** What the log should say about the data (dropped images, degenerate classes or splits). */
  warnings: string[];
}

export interface TrainingParts {
  method: MethodSpec;
  model: EmbeddingModel;
  criterion: DmlLoss;
  optimizer: AnyOptimizer;
  scheduler: LrScheduler;
  /** float16 runs only. */
  lossScale?: DynamicLossScale;
  /** Lines for the log (pretrained weights, notable defaults). */
  notes: string[];
}

/**
 * The run's compute setting: its device (`device` overrides it, e.g. a worker's own GPU), precision,
 * memory format, threads and test transform. Throws ConfigError naming the setting.
 */
export function trainingCompute(config: TrainConfig, device: string = config.device): ComputeSetting {
  try {
    return resolveCompute(
      { device, precision: config.precision, memoryFormat: config.memoryFormat, threads: config.threads },
      { imageSize: config.imageSize, testResize: config.testResize, channels: config.channels, normalization: config.normalization },
    );
  } catch (err) {
    if (err instanceof OptionError) throw new ConfigError(`${setting(err.option as ConfigField)}: ${err.detail}`);
    throw err;
  }
}

/** Opens the dataset and cuts its splits to --limit-train / --limit-test. */
export async function openTrainingData(config: TrainConfig, compute: ComputeSetting = trainingCompute(config)): Promise<TrainingData> {
  const dataset = await openDataset(config.dataset, config.dataRoot === null ? {} : { root: config.dataRoot });
  const limited = await checkTrainingData(
    { train: limitSplit(dataset.train, config.limitTrain ?? undefined), evaluation: limitEvaluation(dataset.evaluation, config.limitTest ?? undefined) },
    config,
  );
  const { train, evaluation } = limited.data;
  const sampler = trainSampler(config, train.labels);
  if (sampler.batchesInEpoch(0) === 0) {
    throw new ConfigError(
      `${setting('batchSize')} ${config.batchSize}: the training split (${train.size} images, ${train.numClasses} classes) does not fill one batch; raise ${setting('limitTrain')} or lower ${setting('batchSize')}`,
    );
  }
  const channels = config.channels;
  const scaling = inputScaling(config.normalization, channels);
  const augmentation = config.augment ? { scale: [config.minCropScale, 1] as const } : NO_AUGMENTATION;
  return {
    train,
    evaluation,
    warnings: limited.warnings,
    trainTransform: trainTransform({ size: config.imageSize, channels, ...scaling, ...augmentation }),
    testTransform: compute.transform,
  };
}

/** The training batches: every image once per epoch (balanced), or the authors' draws with replacement. */
export function trainSampler(config: Pick<TrainConfig, 'sampling' | 'batchSize' | 'samplesPerClass' | 'seed'>, labels: Int32Array): BatchSampler {
  const options = { batchSize: config.batchSize, samplesPerClass: config.samplesPerClass, seed: config.seed };
  return config.sampling === 'with-replacement' ? new ClassRandomSampler(labels, options) : new ClassBalancedSampler(labels, options);
}

/**
 * The run's method: a preset with the run's attack settings (budgets turned into normalised-input
 * units, per channel for a pixel fraction), or the method written as data (checked with the settings).
 */
export function methodOf(config: Pick<TrainConfig, 'method' | 'eps' | 'attackIters' | 'mtaxTargets' | 'attackStep' | 'normalization' | 'channels'>): MethodSpec {
  if (typeof config.method !== 'string') return config.method;
  const { std } = inputScaling(config.normalization, config.channels);
  const step = config.attackStep === null ? null : budgetAmount(config.attackStep, std);
  return presetMethod(config.method, { eps: budgetAmount(config.eps, std), iters: config.attackIters, mtaxTargets: config.mtaxTargets, step });
}

/** What buildParts takes from the run's settings. */
export type PartsSettings = Pick<
  TrainConfig,
  | 'method' | 'eps' | 'attackIters' | 'mtaxTargets' | 'attackStep' | 'normalization' | 'seed' | 'arch' | 'embedDim' | 'channels' | 'pretrained' | 'auxBnInit' | 'loss'
  | 'optimizer' | 'lr' | 'lrHead' | 'lrMainBn' | 'lrAuxBn' | 'weightDecay' | 'schedule' | 'epochs' | 'precision'
>;

/**
 * A fresh model, loss and optimizer, placed and set as `compute` says (default: the run's); the
 * model's initial weights come from the seed (or pretrained). `method` is the run's validated
 * method when the caller has it.
 */
export function buildParts(config: TrainConfig, numClasses: number, compute?: ComputeSetting, method?: MethodSpec): TrainingParts;
export function buildParts(config: PartsSettings, numClasses: number, compute: ComputeSetting, method?: MethodSpec): TrainingParts;
export function buildParts(config: PartsSettings, numClasses: number, compute = trainingCompute(config as TrainConfig), method = methodOf(config)): TrainingParts {
  const { device } = compute;
  const notes: string[] = [];
  // Seen on an H100: two runs with the same seed differ from the first epoch (cuDNN picks
  // non-deterministic kernels), so exact reproduction and resume hold on the CPU only.
  if (device !== 'cpu') notes.push(`${device}: GPU kernels are not deterministic here; same-seed runs and resumed runs match only approximately`);
  manualSeed(config.seed);
  const model = createModel({ arch: config.arch, embedDim: config.embedDim, inChannels: config.channels });
  try {
    if (config.pretrained !== null) notes.push(...loadPretrained(model, config.pretrained));
    else if (config.arch !== 'resnet-small' && config.arch !== 'c2f2') notes.push(`${config.arch} starts from random weights (no pretrained weights); the paper's figures use ImageNet weights`);
    convertToMultiBatchNorm(model, method.branches);
    syncAuxBranches(model);
    if (config.auxBnInit === 'copy-weights') resetAuxRunningStats(model);
    computeWith(model, compute);
  } catch (err) {
    model.dispose();
    throw err;
  }
  // The loss's own learnable tensors (margins, proxies) live where the embeddings are.
  const criterion = createLoss({
    loss: defaultLossSpec(config.loss, { numClasses, embeddingDim: config.embedDim }),
    embeddingDim: config.embedDim,
    placement: { device },
  });
  const optimizer = createOptimizer(config, model, criterion);
  const scheduler = new LrScheduler(optimizer, scheduleOf(config));
  // float16 gradients underflow without a loss scale (bf16 has float32's range and needs none).
  const lossScale = config.precision === 'fp16' ? new DynamicLossScale(() => optimizer.params) : undefined;
  return { method, model, criterion, optimizer, scheduler, lossScale, notes };
}

interface GroupSpec {
  name: string;
  params: Tensor[];
  lr: number;
}

function createOptimizer(config: PartsSettings, model: EmbeddingModel, criterion: DmlLoss): AnyOptimizer {
  const rates = {
    backbone: config.lr,
    ...(config.lrMainBn !== null ? { mainBn: config.lrMainBn } : {}),
    ...(config.lrAuxBn !== null ? { auxBn: config.lrAuxBn } : {}),
    ...(config.lrHead !== null ? { head: config.lrHead } : {}),
  };
  const groups: GroupSpec[] = modelParameterGroups(model, rates).map((g) => ({ name: g.name, params: g.params, lr: g.lr }));
  for (const g of criterion.parameterGroups()) {
    if (g.params.length > 0) groups.push({ name: `loss.${g.name}`, params: g.params, lr: lossRate(g.learningRate, config.lr) });
  }
  const options = { lr: config.lr, weightDecay: config.weightDecay };
  switch (config.optimizer) {
    case 'adam':
      return new Adam(groups, options);
    case 'adamw':
      return new AdamW(groups, options);
    case 'sgd':
      return new SGD(groups, { ...options, momentum: 0.9 });
  }
}

function lossRate(rate: LearningRate | undefined, base: number): number {
  if (rate === undefined) return base;
  return rate.kind === 'absolute' ? rate.value : rate.factor * base;
}

function scheduleOf(config: PartsSettings): Schedule {
  switch (config.schedule) {
    case 'constant':
      return { lrAt: (_epoch, base) => base };
    case 'cosine':
      return cosineAnnealing({ tMax: config.epochs });
  }
}

/** Frees the model's, the loss's and the optimizer's tensors. */
export function disposeParts(parts: TrainingParts): void {
  parts.optimizer.dispose();
  parts.criterion.dispose();
  parts.model.dispose();
}
