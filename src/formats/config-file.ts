// config.json: every resolved setting of a training run (also the shape of a --config file once
// its keys are normalised). The one schema of the file; its TypeScript type is derived from it.
import { z } from 'zod';
import { isBudgetText } from '../adversarial/index.js';
import { DATASET_NAMES } from '../data/index.js';
import { LOSS_NAMES, type LossName } from '../dml/index.js';
import { METHOD_NAMES, type MethodName, type MethodSpec } from '../methods/index.js';
import { ARCHS, MEMORY_FORMATS, PRECISIONS, type Arch } from '../nn/index.js';
import { methodSpecSchema } from './method-spec.js';
import { MODEL_LIMITS } from './model-file.js';

export const OPTIMIZER_NAMES = ['adam', 'adamw', 'sgd'] as const;
export const SCHEDULE_NAMES = ['constant', 'cosine'] as const;
/** Named sets of settings a run starts from (src/train/presets.ts). */
export const TRAIN_PRESETS = ['paper'] as const;
/** 'balanced': every image once per epoch; 'with-replacement': the authors' class_random draws. */
export const SAMPLINGS = ['balanced', 'with-replacement'] as const;
/** 'copy': aux BN branches start as full copies of the main one; 'copy-weights': scale and shift copied, running statistics fresh (the authors'). */
export const AUX_BN_INITS = ['copy', 'copy-weights'] as const;
/** Which epoch's weights become the run's model: the last, or the best by test Recall@1 (optimistic). */
export const MODEL_SELECTIONS = ['final', 'best-test'] as const;
/** How pixels in [0, 1] become network inputs: minus a mean over a std per channel, or as they are. */
export const NORMALIZATIONS = ['mean-std', 'none'] as const;

const positiveInt = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
/** Bounds no real run comes near, so a typo cannot ask for terabytes or a million threads. */
export const CONFIG_LIMITS = {
  embedDim: MODEL_LIMITS.embedDim,
  imageSize: 4096,
  testResize: MODEL_LIMITS.imageSize,
  batchSize: 65536,
  evalBatchSize: 65536,
  samplesPerClass: 1024,
  epochs: 1_000_000,
  attackIters: 10_000,
  mtaxTargets: 1024,
  threads: 1024,
  worldSize: 65536,
} as const;
const nonNegativeInt = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const positiveNumber = z.number().positive().finite();
const nonNegativeNumber = z.number().nonnegative().finite();
/** A budget as evaluation takes one: a number in normalised-input units, or text such as "4/255" (a share of the pixel range). */
const budgetText = z.string().refine(isBudgetText, "expected a number or a fraction such as '4/255'");
const path = z.string().min(1);

export const configSchema = z.strictObject({
  dataset: z.enum(DATASET_NAMES),
  dataRoot: path.nullable(),
  /** The preset the other settings started from; null: the dataset's defaults. Older files lack it. */
  preset: z.enum(TRAIN_PRESETS).nullable().default(null),
  /** A preset's name, or a method written as data. */
  method: z.union([z.enum(METHOD_NAMES), methodSpecSchema]),
  arch: z.enum(ARCHS as [Arch, ...Arch[]]),
  embedDim: positiveInt.max(CONFIG_LIMITS.embedDim),
  pretrained: path.nullable(),
  /** An ImageNet-sized network on a file dataset without pretrained weights, on purpose. */
  fromScratch: z.boolean().default(false),
  loss: z.enum(LOSS_NAMES as [LossName, ...LossName[]]),
  optimizer: z.enum(OPTIMIZER_NAMES),
  epochs: positiveInt.max(CONFIG_LIMITS.epochs),
  batchSize: positiveInt.min(2).max(CONFIG_LIMITS.batchSize),
  samplesPerClass: positiveInt.max(CONFIG_LIMITS.samplesPerClass),
  sampling: z.enum(SAMPLINGS).default('balanced'),
  auxBnInit: z.enum(AUX_BN_INITS).default('copy'),
  lr: positiveNumber,
  lrHead: positiveNumber.nullable(),
  lrMainBn: positiveNumber.nullable(),
  lrAuxBn: positiveNumber.nullable(),
  weightDecay: nonNegativeNumber,
  schedule: z.enum(SCHEDULE_NAMES),
  /** The training attacks' budget: a number in normalised-input units, or a pixel fraction such as "4/255". */
  eps: z.union([nonNegativeNumber, budgetText]),
  attackIters: positiveInt.max(CONFIG_LIMITS.attackIters),
  /** PGD step of the defenses' training attacks; null: eps / attackIters. (Absent in runs made before it existed.) */
  attackStep: z.union([positiveNumber, budgetText]).nullable().default(null),
  mtaxTargets: positiveInt.max(CONFIG_LIMITS.mtaxTargets),
  imageSize: positiveInt.max(CONFIG_LIMITS.imageSize),
  testResize: positiveInt.max(CONFIG_LIMITS.testResize),
  channels: z.union([z.literal(1), z.literal(3)]),
  minCropScale: z.number().gt(0).lte(1),
  /** Random resized crops and flips while training; false: the images as they are (RobRank's Fashion-MNIST). */
  augment: z.boolean().default(true),
  /** Input scaling, also what eps is measured in; 'none' keeps pixels in [0, 1]. */
  normalization: z.enum(NORMALIZATIONS).default('mean-std'),
  limitTrain: positiveInt.nullable(),
  limitTest: positiveInt.nullable(),
  evalEvery: nonNegativeInt,
  /** Mid-epoch checkpoints: every n steps, or every 'n' + 'm' minutes ('10m'); 0: only at each epoch's end. */
  checkpointEvery: z.union([nonNegativeInt, z.string().regex(/^(\d+(\.\d+)?|\.\d+)m$/, "expected minutes such as '10m'")]),
  evalBatchSize: positiveInt.max(CONFIG_LIMITS.evalBatchSize),
  modelSelection: z.enum(MODEL_SELECTIONS),
  /** Drop (and list) images that cannot be decoded instead of stopping at the first. */
  skipBadImages: z.boolean(),
  seed: nonNegativeInt,
  threads: positiveInt.max(CONFIG_LIMITS.threads),
  device: z.string().regex(/^(cpu|cuda(:\d+)?)$/),
  /** Compute precision of convolutions and matrix products (runs from before it existed: fp32). */
  precision: z.enum(PRECISIONS).default('fp32'),
  /** Memory format of the convolutions' activations (runs from before it existed: contiguous). */
  memoryFormat: z.enum(MEMORY_FORMATS).default('contiguous'),
  out: path,
  /** Processes that trained the run together (data parallel); recorded from the launch, not set. Runs from before it trained alone. */
  worldSize: positiveInt.max(CONFIG_LIMITS.worldSize).default(1),
  /** Batch norms in training take their statistics over the rows of all processes (no effect alone). Older runs did not. */
  syncBn: z.boolean().default(false),
});

/** Every resolved setting of a run: what config.json holds. */
export type TrainConfig = z.infer<typeof configSchema>;
export type ConfigField = keyof TrainConfig;
export type OptimizerName = TrainConfig['optimizer'];
export type ScheduleName = TrainConfig['schedule'];

export const CONFIG_FIELDS = Object.keys(configSchema.shape) as ConfigField[];

/** The name a run's method goes by: the preset's, or the `name` of a method written as data. */
export function methodName(method: MethodName | MethodSpec): string {
  return typeof method === 'string' ? method : method.name;
}
