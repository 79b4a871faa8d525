// The training configuration's texts: help and error wording of every setting. The schema of
// config.json itself lives in src/formats/config-file.ts.
// A setting has one name in three places: the camelCase field of config.json and of a --config
// file (which may also use the flag's kebab-case name), and the kebab-case command-line flag.
import { DATASET_NAMES } from '../data/index.js';
import { LOSS_NAMES } from '../dml/index.js';
import { COMPUTE_TEXT } from '../evaluate/index.js';
import { AUX_BN_INITS, CONFIG_FIELDS, CONFIG_LIMITS, OPTIMIZER_NAMES, SAMPLINGS, SCHEDULE_NAMES, TRAIN_PRESETS, type ConfigField } from '../formats/index.js';
import { METHOD_NAMES } from '../methods/index.js';
import { ARCHS, MEMORY_FORMATS, PRECISIONS } from '../nn/index.js';

export { CONFIG_FIELDS, CONFIG_LIMITS, configSchema, OPTIMIZER_NAMES, SCHEDULE_NAMES, type ConfigField, type OptimizerName, type ScheduleName, type TrainConfig } from '../formats/index.js';

export interface FieldText {
  /** The flag's argument, as --help shows it. */
  arg: string;
  /** What a valid value is, for error messages. */
  expected: string;
  help: string;
}

const names = (values: readonly string[]): string => values.join(', ');
const upTo = (field: keyof typeof CONFIG_LIMITS, min = 1): string => `an integer in ${min}..${CONFIG_LIMITS[field]}`;

/** Help and error text of every field; the flag is `--` + the kebab-case name. */
export const FIELD_TEXT: Record<ConfigField, FieldText> = {
  dataset: { arg: 'name', expected: `one of ${names(DATASET_NAMES)}`, help: `dataset: ${names(DATASET_NAMES)}` },
  dataRoot: { arg: 'dir', expected: 'a folder path', help: "folder the dataset was downloaded to (not for mnist; fashion-mnist and fashion-mnist-all: a folder holding the four official files, default /usr/share/datasets/fashion-mnist where Debian's dataset-fashion-mnist puts them)" },
  method: { arg: 'name|file', expected: `one of ${names(METHOD_NAMES)}, or a method written as data`, help: `training method: ${names(METHOD_NAMES)} (default mdprop), or a JSON file of a method written as data (see README)` },
  arch: { arg: 'name', expected: `one of ${names(ARCHS)}`, help: `backbone: ${names(ARCHS)} (default: resnet-small for fashion-mnist/mnist, resnet50 otherwise)` },
  embedDim: { arg: 'D', expected: upTo('embedDim'), help: 'embedding dimension (default 128)' },
  preset: { arg: 'name', expected: `one of ${names(TRAIN_PRESETS)}`, help: "start from a named set of settings: 'paper' = the MDProp authors' (cub200, cars196, sop, inshop; needs --pretrained or --from-scratch); other flags override it" },
  pretrained: { arg: 'file', expected: 'a file path', help: 'initial weights (torchvision names): safetensors or a PyTorch .pth/.pt; a module. prefix is removed, missing num_batches_tracked counters filled in, a head fc.* of another shape left freshly initialised (and reported)' },
  fromScratch: { arg: 'yes|no', expected: 'yes or no', help: 'train a resnet18/34/50 on cub200, cars196, sop or inshop from random weights on purpose (otherwise --pretrained is required)' },
  sampling: { arg: 'name', expected: `one of ${names(SAMPLINGS)}`, help: "batches: 'balanced' (every image once per epoch, default) or 'with-replacement' (the authors': classes and images drawn with replacement; --preset paper)" },
  auxBnInit: { arg: 'name', expected: `one of ${names(AUX_BN_INITS)}`, help: "auxiliary BN branches start as 'copy' (the main branch whole, default) or 'copy-weights' (scale and shift copied, running statistics fresh: the authors'; --preset paper)" },
  loss: { arg: 'name', expected: `one of ${names(LOSS_NAMES)}`, help: `metric-learning loss: ${names(LOSS_NAMES)} (default multisimilarity)` },
  optimizer: { arg: 'name', expected: `one of ${names(OPTIMIZER_NAMES)}`, help: `optimizer: ${names(OPTIMIZER_NAMES)} (default adam, as the authors)` },
  epochs: { arg: 'n', expected: upTo('epochs'), help: 'epochs to train (default: 4 for fashion-mnist/mnist, 125 otherwise)' },
  batchSize: { arg: 'n', expected: upTo('batchSize', 2), help: "clean images per batch (default: the dataset's paper batch, 64; sop and inshop 112)" },
  samplesPerClass: { arg: 'm', expected: upTo('samplesPerClass'), help: 'images per class in a batch; must divide --batch-size (default 2)' },
  lr: { arg: 'rate', expected: 'a positive number', help: 'learning rate of the backbone, the base of the others (default: 1e-3 for fashion-mnist/mnist, 1e-5 otherwise)' },
  lrHead: { arg: 'rate', expected: 'a positive number', help: 'learning rate of the embedding head fc (default: --lr)' },
  lrMainBn: { arg: 'rate', expected: 'a positive number', help: 'learning rate of the clean (branch 0) batch norms (default: --lr)' },
  lrAuxBn: { arg: 'rate', expected: 'a positive number', help: 'learning rate of the auxiliary batch-norm branches (default: --lr-main-bn)' },
  weightDecay: { arg: 'w', expected: 'a number >= 0', help: 'weight decay (default 4e-4, as the authors)' },
  schedule: { arg: 'name', expected: `one of ${names(SCHEDULE_NAMES)}`, help: 'learning-rate schedule over the epochs: constant or cosine (default constant)' },
  eps: { arg: 'e', expected: "a number >= 0 or a pixel fraction such as '4/255'", help: 'attack budget as mdprop eval takes it: a number in normalised-input units (default 0.01) or a share of the pixel range such as 4/255' },
  attackIters: { arg: 'n', expected: upTo('attackIters'), help: 'PGD iterations per attack (default 1)' },
  attackStep: { arg: 'step', expected: "a positive number or 'none'", help: 'PGD step of the defenses est, act, hm, a number or a pixel fraction as --eps takes (default: eps / attack-iters; the distributions of mdprop and advprop-d always step eps / attack-iters)' },
  mtaxTargets: { arg: 'T', expected: upTo('mtaxTargets'), help: 'target sets of the multi-targeted attack (default 5)' },
  imageSize: { arg: 'px', expected: upTo('imageSize'), help: 'side of the training crop and of the test centre crop (default: 28 for fashion-mnist/mnist, 224 otherwise)' },
  testResize: { arg: 'px', expected: `${upTo('testResize')}, >= --image-size`, help: 'shorter side before the test centre crop (default: 28 / 256)' },
  channels: { arg: 'c', expected: '1 or 3', help: 'input channels (default: 1 for fashion-mnist/mnist, 3 otherwise)' },
  minCropScale: { arg: 's', expected: 'a number in (0, 1]', help: 'smallest area fraction of the random resized crop (default: 0.5 for fashion-mnist/mnist, 0.08 otherwise)' },
  augment: { arg: 'yes|no', expected: 'yes or no', help: 'random resized crops and horizontal flips while training (default yes)' },
  normalization: { arg: 'name', expected: 'mean-std or none', help: "input scaling: 'mean-std' (ImageNet's, or its grey average; default) or 'none' (pixels in [0, 1], as RobRank); --eps is in these units" },
  limitTrain: { arg: 'n|all', expected: "a positive integer or 'all'", help: 'train on at most n images, classes in turn (default: 2000 for fashion-mnist/mnist, all otherwise)' },
  limitTest: { arg: 'n|all', expected: "a positive integer or 'all'", help: 'evaluate on at most n test images (default: 5000 for fashion-mnist/mnist, all otherwise)' },
  checkpointEvery: { arg: 'n|Nm', expected: "an integer >= 0 (steps) or minutes such as '10m'", help: "also checkpoint within an epoch: every n steps, or every N minutes ('10m'); 0: at each epoch's end only (default), which is what a SIGKILL can lose" },
  skipBadImages: { arg: 'yes|no', expected: 'yes or no', help: 'decode every image first; list and drop the unreadable ones instead of stopping at the first (default no)' },
  evalEvery: { arg: 'n', expected: 'an integer >= 0', help: 'evaluate every n epochs, and always after the last; 0: only after the last (default 1)' },
  modelSelection: { arg: 'rule', expected: 'final or best-test', help: "which weights become model.safetensors: 'final' (the last epoch, default) or 'best-test' (best test Recall@1: optimistic, as the authors' code)" },
  evalBatchSize: { arg: 'n', expected: upTo('evalBatchSize'), help: 'images per forward pass when evaluating (default: 256 / 64)' },
  seed: { arg: 'n', expected: 'an integer >= 0', help: 'seed of every random choice; same seed and threads, same run (default 0)' },
  threads: { arg: 'n', expected: upTo('threads'), help: COMPUTE_TEXT.threads },
  device: { arg: 'device', expected: "'cpu' or 'cuda[:N]'", help: COMPUTE_TEXT.device },
  worldSize: { arg: 'n', expected: upTo('worldSize'), help: 'processes that train the run together; set by --nproc/--nnodes or the launch environment, recorded in config.json' },
  syncBn: {
    arg: 'yes|no',
    expected: 'yes or no',
    help: 'synchronised batch norm: with several processes (--nproc, --nnodes), each batch norm normalises with the statistics of the whole global batch, exactly as one process would; costs one small collective per batch norm call in each pass; alone it changes nothing (default no)',
  },
  bnReplicas: {
    arg: 'R',
    expected: upTo('bnReplicas'),
    help: "the MDProp authors' nn.DataParallel over R GPUs, in one process: the batch is cut into R chunks as DataParallel scatters it (64 over 3: 22/22/20), each chunk makes its attacks with targets from itself and normalises each of its segments with its own statistics, the running statistics kept are the first chunk's (default 1; --preset paper: 3)",
  },
  precision: { arg: 'p', expected: `one of ${names(PRECISIONS)}`, help: `${COMPUTE_TEXT.precision}; fp16 trains with dynamic loss scaling; activations between them stay 16-bit, batch-norm statistics, weights, losses and optimizer state float32` },
  memoryFormat: { arg: 'f', expected: `one of ${names(MEMORY_FORMATS)}`, help: COMPUTE_TEXT.memoryFormat },
  out: { arg: 'dir', expected: 'a folder path', help: 'run directory (default runs/<dataset>-<method>-<timestamp>)' },
};

/** `batchSize` -> `batch-size`. */
export function kebab(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** `batch-size` -> `batchSize`. */
export function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Yes/no settings: a bare flag means yes. */
export const SWITCHES: ReadonlySet<ConfigField> = new Set<ConfigField>(['skipBadImages', 'fromScratch', 'augment', 'syncBn']);

/** The flag with its argument as --help shows it; a switch's argument is optional (bare means yes). */
export function flagTerm(field: ConfigField): string {
  const arg = FIELD_TEXT[field].arg;
  return SWITCHES.has(field) ? `${flagOf(field)} [${arg}]` : `${flagOf(field)} <${arg}>`;
}

export function flagOf(field: ConfigField | string): string {
  return `--${kebab(field)}`;
}

/** The settings a command line sets; worldSize is recorded from the launch (--nproc, --nnodes or the environment). */
export const FLAG_FIELDS: readonly ConfigField[] = CONFIG_FIELDS.filter((field) => field !== 'worldSize');

export function isConfigField(name: string): name is ConfigField {
  return (CONFIG_FIELDS as string[]).includes(name);
}

/**
 * A reference to a setting inside an error message. The library's message names the field
 * (`batchSize`); the command line renders the same error with the flag (`--batch-size`).
 */
export function setting(field: ConfigField | 'config' | 'resume'): string {
  return `{{${field}}}`;
}

const SETTING_REF = /\{\{([A-Za-z]+)\}\}/g;

/** A setting that cannot be used, named as the user gave it (an option field, a flag, or a field of a file). */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly template: string) {
    super(template.replace(SETTING_REF, (_, field: string) => field));
  }

  /** The message with each setting named by `nameOf(field)`. */
  render(nameOf: (field: string) => string): string {
    return this.template.replace(SETTING_REF, (_, field: string) => nameOf(field));
  }
}
