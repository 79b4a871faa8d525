// Resolving a run's configuration: dataset defaults <- a --config JSON file <- command-line flags,
// each value checked as it comes in so an error names the flag or the file and field at fault,
// then the checks that involve several settings. Nothing else happens before this succeeds.
import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { acceptsRoot, DATASETS, isDirectoryNow, isFileNow } from '../data/index.js';
import { FormatError, methodName, methodSpecSchema, parseWithSchema, readJsonFile, RunDirectory } from '../formats/index.js';
import { isMethodName, presetMethod, type MethodName, type MethodSpec } from '../methods/index.js';
import { defaultMemoryFormat, describeShortfall, memoryShortfall, precisionProblem, type ForwardMemoryRequest, type Precision } from '../nn/index.js';
import {
  camel,
  CONFIG_FIELDS,
  ConfigError,
  configSchema,
  FIELD_TEXT,
  isConfigField,
  setting,
  SWITCHES,
  type ConfigField,
  type TrainConfig,
} from './config.js';
import { datasetDefaults, defaultRunDir } from './defaults.js';
import { PAPER_DATASETS, presetSettings } from './presets.js';

/** Raw command-line values, by field name (commander's camelCase of the flag). */
export type FlagValues = Partial<Record<ConfigField, string>>;

/** Settings given as values (a library caller's options, a parsed --config file). */
export type GivenSettings = Partial<Record<ConfigField, unknown>>;

/** Fields whose flags take numbers; the others take words or paths. */
const NUMERIC = new Set<ConfigField>([
  'embedDim', 'epochs', 'batchSize', 'samplesPerClass', 'lr', 'lrHead', 'lrMainBn', 'lrAuxBn', 'weightDecay', 'eps',
  'attackIters', 'attackStep', 'mtaxTargets', 'imageSize', 'testResize', 'channels', 'minCropScale', 'limitTrain', 'limitTest',
  'evalEvery', 'checkpointEvery', 'evalBatchSize', 'seed', 'threads', 'worldSize', 'bnReplicas',
]);

/** Settings a resumed run may change: they do not alter what has been trained so far. */
export const RESUMABLE_CHANGES: readonly ConfigField[] = ['epochs', 'evalEvery', 'checkpointEvery', 'evalBatchSize', 'threads', 'device'];

/** A switch's words (a bare --skip-bad-images arrives as true). */
const YES_NO: Record<string, boolean> = { yes: true, true: true, '1': true, no: false, false: false, '0': false };

const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function isNullable(field: ConfigField): boolean {
  return configSchema.shape[field].safeParse(null).success;
}

function show(raw: unknown): string {
  return typeof raw === 'string' ? `'${raw}'` : JSON.stringify(raw);
}

/** Checks one value against its field's schema; `where` names its origin in the error. */
function checkField(field: ConfigField, value: unknown, where: string, raw: unknown = value): unknown {
  const parsed = configSchema.shape[field].safeParse(value);
  if (parsed.success) return parsed.data;
  if (field === 'method' && typeof value === 'object' && value !== null) {
    // A method written as data: name the field of the method at fault.
    try {
      parseWithSchema(where, methodSpecSchema, value);
    } catch (err) {
      if (err instanceof FormatError) throw new ConfigError(err.message);
      throw err;
    }
  }
  throw new ConfigError(`${where}: expected ${FIELD_TEXT[field].expected}, got ${show(raw)}`);
}

/** 'none' (any optional setting) and 'all' (the limits) stand for null: no file, no limit. */
function isNullWord(field: ConfigField, value: unknown): boolean {
  if (typeof value !== 'string' || !isNullable(field)) return false;
  const word = value.trim().toLowerCase();
  return word === 'none' || (word === 'all' && (field === 'limitTrain' || field === 'limitTest'));
}

/** A flag's string as the value its field holds; --method also takes a JSON file of a method. */
function flagValue(field: ConfigField, raw: string): unknown {
  if (isNullWord(field, raw)) return null;
  if (field === 'method' && !isMethodName(raw)) return readMethodFile(raw);
  if (NUMERIC.has(field)) return NUMBER_TEXT.test(raw.trim()) ? Number(raw) : raw;
  if (SWITCHES.has(field)) return YES_NO[String(raw).trim().toLowerCase()] ?? raw;
  return raw;
}

/** A method written as data, from a JSON file named by the method setting. */
function readMethodFile(path: string): unknown {
  if (!isFileNow(path)) return path; // not a preset name and not a file: the schema reports it
  try {
    return readJsonFile(path, methodSpecSchema);
  } catch (err) {
    if (err instanceof FormatError) throw new ConfigError(`${setting('method')} ${err.message}`);
    throw err;
  }
}

export function parseFlags(flags: FlagValues): GivenSettings {
  const out: GivenSettings = {};
  for (const field of CONFIG_FIELDS) {
    const raw = flags[field];
    if (raw !== undefined) out[field] = checkField(field, flagValue(field, raw), setting(field), raw);
  }
  return out;
}

/** Settings given as values (the library's options): each checked against its field. */
export function checkSettings(given: GivenSettings): GivenSettings {
  const out: GivenSettings = {};
  for (const [key, value] of Object.entries(given)) {
    if (value === undefined) continue;
    if (!isConfigField(key)) throw new ConfigError(`unknown setting "${key}"; known: ${CONFIG_FIELDS.join(', ')}`);
    out[key] = checkField(key, value, setting(key));
  }
  return out;
}

/** A --config file: a JSON object whose keys are field names (camelCase) or flag names (kebab-case). */
export function readConfigFile(path: string): GivenSettings {
  const where = `${setting('config')} ${path}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new ConfigError(`${where}: file not found or unreadable`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${where}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError(`${where}: expected a JSON object of settings`);
  const out: GivenSettings = {};
  const seenAs = new Map<ConfigField, string>();
  for (const [key, value] of Object.entries(json)) {
    const field = camel(key.replace(/^--/, ''));
    if (field === 'config' || field === 'resume') throw new ConfigError(`${where}: "${key}" can only be given on the command line`);
    if (!isConfigField(field)) throw new ConfigError(`${where}: unknown setting "${key}"; known: ${CONFIG_FIELDS.join(', ')}`);
    const earlier = seenAs.get(field);
    if (earlier !== undefined) throw new ConfigError(`${where}: "${earlier}" and "${key}" are the same setting`);
    seenAs.set(field, key);
    out[field] = checkField(field, isNullWord(field, value) ? null : value, `${where}: "${key}"`, value);
  }
  return out;
}

export interface ResolveInput {
  /** Command-line strings. */
  flags?: FlagValues;
  /** Values (a library caller's options); flags win over them. */
  given?: GivenSettings;
  /** Path of the --config file, if given. */
  configFile?: string;
  /** For the default run directory's timestamp. */
  now?: Date;
}

/** Where each explicitly given value came from, for messages about combinations. */
class Origins {
  constructor(
    private readonly flags: GivenSettings,
    private readonly file: GivenSettings,
    private readonly fileName: string | undefined,
  ) {}

  name(field: ConfigField): string {
    if (field in this.flags) return setting(field);
    if (field in this.file) return `"${field}" in ${this.fileName}`;
    return `${setting(field)} (default)`;
  }
}

/** The configuration of a new run. Throws ConfigError naming the flag or field at fault. */
export function resolveConfig(input: ResolveInput): TrainConfig {
  const flags = { ...checkSettings(input.given ?? {}), ...parseFlags(input.flags ?? {}) };
  const file = input.configFile === undefined ? {} : readConfigFile(input.configFile);
  const dataset = (flags.dataset ?? file.dataset) as TrainConfig['dataset'] | undefined;
  if (dataset === undefined) throw new ConfigError(`${setting('dataset')} is required (or "dataset" in the ${setting('config')} file)`);
  const preset = (flags.preset ?? file.preset ?? null) as TrainConfig['preset'];
  const given: GivenSettings = { ...(preset === null ? {} : presetSettings(preset, dataset)), ...file, ...flags };
  const merged: GivenSettings = { ...datasetDefaults(dataset), ...given };
  // Unless given, the memory format is the one the precision runs fastest in (recorded in config.json).
  if (given.memoryFormat === undefined && typeof merged.precision === 'string' && typeof merged.device === 'string') {
    merged.memoryFormat = defaultMemoryFormat(merged.precision as Precision, merged.device);
  }
  merged.out ??= defaultRunDir(dataset, methodName(merged.method as TrainConfig['method']), input.now ?? new Date());
  const config = configSchema.parse(merged);
  // Stored resolved: a resumed or evaluated run must open the same files from any working folder.
  if (config.dataRoot !== null) config.dataRoot = resolvePath(config.dataRoot);
  if (config.pretrained !== null) config.pretrained = resolvePath(config.pretrained);
  checkCombinations(config, new Origins(flags, file, input.configFile));
  return config;
}

function checkCombinations(c: TrainConfig, origin: Origins): void {
  if (c.batchSize % c.samplesPerClass !== 0) {
    throw new ConfigError(`${origin.name('batchSize')} ${c.batchSize} is not a multiple of ${origin.name('samplesPerClass')} ${c.samplesPerClass}`);
  }
  if (c.batchSize / c.samplesPerClass < 2) {
    throw new ConfigError(`${origin.name('batchSize')} ${c.batchSize} holds fewer than 2 classes of ${origin.name('samplesPerClass')} ${c.samplesPerClass}; metric learning needs negatives`);
  }
  if (c.testResize < c.imageSize) throw new ConfigError(`${origin.name('testResize')} ${c.testResize} is smaller than ${origin.name('imageSize')} ${c.imageSize}`);
  const needsRoot = DATASETS[c.dataset].needsRoot;
  if (!acceptsRoot(c.dataset) && c.dataRoot !== null) throw new ConfigError(`${origin.name('dataRoot')}: ${c.dataset} is embedded and takes no data root`);
  if (needsRoot && c.dataRoot === null) throw new ConfigError(`${setting('dataRoot')} is required for ${c.dataset}`);
  if (c.dataRoot !== null && !isDirectoryNow(c.dataRoot)) throw new ConfigError(`${origin.name('dataRoot')}: folder not found: ${c.dataRoot}`);
  if (c.pretrained !== null && !isFileNow(c.pretrained)) throw new ConfigError(`${origin.name('pretrained')}: file not found: ${c.pretrained}`);
  checkInitialWeights(c, origin);
  checkMachine(c, (field) => origin.name(field));
}

/**
 * The paper's datasets are trained from ImageNet weights: an ImageNet-sized ResNet there needs
 * them, or an explicit fromScratch, rather than silently starting from random weights.
 */
function checkInitialWeights(c: TrainConfig, origin: Origins): void {
  if (c.fromScratch && c.pretrained !== null) throw new ConfigError(`${origin.name('fromScratch')} and ${origin.name('pretrained')} contradict each other; give one`);
  if (c.pretrained !== null || c.fromScratch || c.arch === 'resnet-small' || !PAPER_DATASETS.includes(c.dataset)) return;
  const why = c.preset === null ? `${c.dataset} with ${c.arch}` : `${setting('preset')} ${c.preset}`;
  throw new ConfigError(
    `${why} starts from ImageNet weights: give ${setting('pretrained')} FILE (torchvision's ${c.arch} weights as .pth, e.g. ${c.arch === 'resnet50' ? 'resnet50-0676ba61.pth' : `${c.arch}-*.pth`}, or safetensors), ` +
      `or ${setting('fromScratch')} to train from random weights`,
  );
}

/** Settings that must fit this machine: threads a few times its cores, a batch of images well inside its memory. */
function checkMachine(c: TrainConfig, name: (field: ConfigField) => string): void {
  const precisionIssue = precisionProblem(c.precision, c.device);
  if (precisionIssue) throw new ConfigError(`${name('precision')} ${c.precision} on ${name('device')} ${c.device}: ${precisionIssue}`);
  const maxThreads = THREADS_PER_CORE * availableParallelism();
  if (c.threads > maxThreads) throw new ConfigError(`${name('threads')} ${c.threads} is more than ${THREADS_PER_CORE} per core of this machine (at most ${maxThreads})`);
  const batchBytes = c.batchSize * c.channels * c.imageSize * c.imageSize * 4;
  if (batchBytes > totalmem() / 4) {
    throw new ConfigError(
      `${name('batchSize')} ${c.batchSize} of ${c.channels}x${c.imageSize}x${c.imageSize} images (${name('imageSize')}) takes ${gib(batchBytes)} GiB as input alone; ` +
        `this machine has ${gib(totalmem())} GiB`,
    );
  }
}

/**
 * Whether one training step fits the machine's free memory now (src/nn/memory-estimate.ts): run
 * when training starts or resumes, not when a configuration is resolved, so a configuration means
 * the same on every machine.
 */
export function checkStepMemory(c: TrainConfig): void {
  if (c.device !== 'cpu') return;
  const method: MethodSpec = typeof c.method === 'string' ? presetMethod(c.method as MethodName) : c.method;
  const step: ForwardMemoryRequest = { arch: c.arch, embedDim: c.embedDim, inChannels: c.channels, imageSize: c.imageSize, batch: Math.ceil(c.batchSize * jointShare(method)), kind: 'training', branches: method.branches };
  const shortfall = memoryShortfall(step);
  const images = step.batch === c.batchSize ? undefined : `${step.batch} images (the batch of ${c.batchSize} with its ${methodName(c.method)} examples)`;
  if (shortfall) throw new ConfigError(`${describeShortfall(step, shortfall, images)}; lower ${setting('batchSize')} (${c.batchSize}) or ${setting('imageSize')} (${c.imageSize})`);
}

/** Images in one training forward per image of the batch: the clean batch and each distribution's slice (a defense: its adversarial copy). */
function jointShare(method: MethodSpec): number {
  if (method.defense) return 2;
  return 1 + method.distributions.reduce((sum, d) => sum + (d.part[1] - d.part[0]), 0);
}

const THREADS_PER_CORE = 4;
const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(1);

/**
 * The configuration of a run being resumed: its saved config.json, with the flags that may change
 * (RESUMABLE_CHANGES) applied. Any other flag must repeat the saved value.
 */
export function resolveResumeConfig(runDir: string, flags: FlagValues = {}, given: GivenSettings = {}): TrainConfig {
  const where = `${setting('resume')} ${runDir}`;
  if (!RunDirectory.holdsRun(runDir)) throw new ConfigError(`${where}: no config.json there; is it a run directory?`);
  let saved: TrainConfig;
  try {
    saved = new RunDirectory(runDir).readConfig();
  } catch (err) {
    if (err instanceof FormatError) throw new ConfigError(`${where}: ${err.message}`);
    throw err;
  }
  const config: TrainConfig = { ...saved, out: runDir };
  const changes = { ...checkSettings(given), ...parseFlags(flags) };
  for (const field of Object.keys(changes) as ConfigField[]) {
    const value = changes[field];
    if (field === 'out') {
      if (resolvePath(String(value)) !== resolvePath(runDir)) throw new ConfigError(`${setting('out')} cannot differ from ${setting('resume')} ${runDir}`);
      continue;
    }
    if (RESUMABLE_CHANGES.includes(field)) {
      (config as Record<ConfigField, unknown>)[field] = value;
    } else if (JSON.stringify(value) !== JSON.stringify(config[field])) {
      throw new ConfigError(
        `${setting(field)} cannot change when resuming (the run uses ${JSON.stringify(config[field])}); ` +
          `only ${RESUMABLE_CHANGES.map(setting).join(', ')} can`,
      );
    }
  }
  const resumed = configSchema.parse(config);
  checkMachine(resumed, (field) => (field in changes ? setting(field) : `${setting(field)} (saved in the run)`));
  return resumed;
}

/** Each rank takes whole classes' groups of every batch: batchSize / samplesPerClass must split evenly over the ranks. */
export function checkShards(config: TrainConfig, method: MethodSpec): void {
  const groups = config.batchSize / config.samplesPerClass;
  if (config.worldSize > 1 && groups % config.worldSize !== 0) {
    throw new ConfigError(
      `${setting('batchSize')} ${config.batchSize} holds ${groups} classes of ${setting('samplesPerClass')} ${config.samplesPerClass}, ` +
        `which do not split evenly over ${config.worldSize} processes; choose a batch of a multiple of ${config.samplesPerClass * config.worldSize} images`,
    );
  }
  // A defense's loss is computed on one process's rows; gathering it across ranks is not built.
  if (config.worldSize > 1 && method.defense !== undefined) {
    throw new ConfigError(`${setting('method')} ${methodName(config.method)} is a defense, which trains in one process; data-parallel training covers baseline, advprop-d, mdprop and methods of distributions`);
  }
  if (config.bnReplicas > 1) {
    const why =
      config.worldSize > 1 || config.syncBn
        ? `splits one process's batch as the MDProp authors' nn.DataParallel does; it cannot be combined with data-parallel training (${config.worldSize} processes${config.syncBn ? `, ${setting('syncBn')}` : ''})`
        : method.defense !== undefined
          ? `is the MDProp authors' replicas, for methods of distributions; ${methodName(config.method)} is a defense`
          : config.bnReplicas > config.batchSize
            ? `is more than the ${config.batchSize} images of a batch (${setting('batchSize')})`
            : null;
    if (why !== null) throw new ConfigError(`${setting('bnReplicas')} ${config.bnReplicas} ${why}`);
  }
}

/** Refuses a folder that holds a run with progress (checked before any work starts, and again under the lock). */
export function checkFree(path: string): void {
  if (RunDirectory.hasProgress(path)) {
    throw new ConfigError(`${setting('out')} ${path} already holds a run (a checkpoint or a model); continue it with ${setting('resume')} ${path} or choose another ${setting('out')}`);
  }
}
