// Planning a robustness evaluation: which model, which data, which attacks. Settings come from the
// options, then the run's config.json, then what the model file records, then the dataset's
// defaults; every check runs before any image is read.
import { dirname, join } from 'node:path';
import { parseBudget, PROFILES, type AttackRun, type Budget, type ProfileName } from '../adversarial/index.js';
import { DATASETS, inputScaling, isDatasetName, testTransform, type DatasetName, type TestTransform } from '../data/index.js';
import { FormatError, loadModelFile, RUN_FILES, RunDirectory, type LoadedModel, type TrainConfig } from '../formats/index.js';
import { defaultMemoryFormat, precisionProblem, type MemoryFormatName, type Precision } from '../nn/index.js';
import { resolveDevice } from '../torch/index.js';
import { checkEvaluateOptions, EVALUATE_DEFAULTS, OptionError, type EvaluateOptionValues } from './options.js';

export interface EvalPlan {
  runDir: string | null;
  loaded: LoadedModel;
  /** Whether the plan loaded the model (and so disposes it). */
  ownsModel: boolean;
  dataset: DatasetName;
  dataRoot: string | undefined;
  transform: TestTransform;
  runs: AttackRun[];
  /** RobRank's profile the attacks and budgets come from, if any. */
  profile: ProfileName | undefined;
  /** PGD iterations asked for. */
  iters: number;
  limit: number | undefined;
  /** The test set's size limit per split (undefined: all of it). */
  limitTest: number | undefined;
  ks: number[];
  batchSize: number;
  seed: number;
  device: string;
  norm: 'linf' | 'l2';
  stepSize: Budget | undefined;
  randomStart: number | 'budget';
  mtaxTargets: number;
  rankPartners: number;
  threads: number | undefined;
  conditionsPerPass: number | undefined;
  precision: Precision;
  memoryFormat: MemoryFormatName;
  out: string | null;
}

function budgetOf(option: string, value: number | string): Budget {
  try {
    return parseBudget(String(value));
  } catch (err) {
    throw new OptionError(option, (err as Error).message);
  }
}

/** The settings a profile fixes: naming one of them beside the profile is an error. */
const PROFILE_FIXED = ['eps', 'iters', 'stepSize', 'randomStart', 'norm', 'rankPartners'] as const;

/** The options with a profile's attacks and budgets filled in (attacks given by hand narrow its list). */
function withProfile(o: EvaluateOptionValues): EvaluateOptionValues {
  if (o.profile === undefined) return o;
  const profile = PROFILES[o.profile];
  const clash = PROFILE_FIXED.find((key) => o[key] !== undefined);
  if (clash !== undefined) throw new OptionError(clash, `the profile ${profile.name} fixes it (RobRank's protocol); leave it out or drop the profile`);
  return {
    ...o,
    attacks: o.attacks ?? [...profile.attacks],
    eps: [profile.eps],
    iters: profile.iters,
    stepSize: profile.stepSize,
    randomStart: profile.randomStart,
    norm: profile.norm,
    rankPartners: profile.rankPartners,
  };
}

/** The attack settings, checked before any file is opened. */
function attackSettings(o: EvaluateOptionValues) {
  const budgets = (o.eps ?? EVALUATE_DEFAULTS.eps).map((e) => budgetOf('eps', e));
  const stepSize = o.stepSize === undefined ? undefined : budgetOf('stepSize', o.stepSize);
  const norm = o.norm ?? EVALUATE_DEFAULTS.norm;
  if (norm === 'l2') {
    const pixel = [...budgets, ...(stepSize ? [stepSize] : [])].find((b) => b.unit === 'pixel');
    if (pixel) throw new OptionError('norm', `l2 takes budgets in normalized units (plain numbers), got '${pixel.text}'`);
  }
  const iters = o.iters ?? EVALUATE_DEFAULTS.iters;
  const attacks = [...new Set(o.attacks ?? EVALUATE_DEFAULTS.attacks)];
  const runs = attacks.flatMap((attack) => budgets.map((b) => ({ attack, budget: b, iters })));
  const randomStart = (o.randomStart ?? EVALUATE_DEFAULTS.randomStart) === 'eps' ? ('budget' as const) : (o.randomStart as number);
  return { runs, stepSize, norm, randomStart, iters };
}

function readRun(runDir: string): TrainConfig {
  try {
    return RunDirectory.open(runDir).readConfig();
  } catch (err) {
    if (err instanceof FormatError) throw new OptionError('run', err.message);
    throw err;
  }
}

function loadFor(path: string, o: EvaluateOptionValues, run: TrainConfig | null, branch: number): LoadedModel {
  try {
    return loadModelFile(path, { arch: o.arch ?? run?.arch, embedDim: o.embedDim ?? run?.embedDim, inChannels: run?.channels, branch });
  } catch (err) {
    if (err instanceof FormatError) throw new OptionError(o.weights ? 'weights' : 'run', err.message);
    throw err;
  }
}

/** Resolves every setting and loads the model; throws OptionError naming the option at fault. */
export function planEvaluation(source: string | LoadedModel | null, options: unknown): EvalPlan {
  const o = withProfile(checkEvaluateOptions(options));
  const { runs, stepSize, norm, randomStart, iters } = attackSettings(o);
  let device: string;
  try {
    device = resolveDevice(o.device ?? EVALUATE_DEFAULTS.device);
  } catch (err) {
    throw new OptionError('device', (err as Error).message);
  }
  const runDir = typeof source === 'string' ? source : null;
  const run = runDir === null ? null : readRun(runDir);
  const branch = o.branch ?? EVALUATE_DEFAULTS.branch;
  let loaded: LoadedModel;
  if (source !== null && typeof source !== 'string') loaded = source;
  else {
    const weights = o.weights ?? (runDir === null ? undefined : new RunDirectory(runDir).file('model'));
    if (weights === undefined) throw new OptionError('run', 'give a run directory, or weights with a dataset');
    loaded = loadFor(weights, o, run, branch);
  }
  const ownsModel = loaded !== source;
  try {
    const meta = loaded.metadata;
    const datasetName = o.dataset ?? run?.dataset ?? meta?.dataset;
    if (datasetName === undefined) throw new OptionError('dataset', 'required when neither the run nor the weights name one');
    if (!isDatasetName(datasetName)) throw new OptionError('dataset', `unknown dataset '${datasetName}' (from ${loaded.path})`);
    const embedded = DATASETS[datasetName].embedded;
    if (embedded && o.dataRoot !== undefined) throw new OptionError('dataRoot', `${datasetName} is embedded and takes no root`);
    const dataRoot = o.dataRoot ?? (datasetName === run?.dataset ? (run.dataRoot ?? undefined) : undefined);
    if (!embedded && dataRoot === undefined) throw new OptionError('dataRoot', `required for ${datasetName}`);
    const ks = [...new Set([1, ...(o.ks ?? DATASETS[datasetName].recallKs)])].sort((a, b) => a - b);
    const imageSize = o.imageSize ?? run?.imageSize ?? meta?.image_size ?? (embedded ? 28 : 224);
    const testResize = o.testResize ?? run?.testResize ?? meta?.test_resize ?? (embedded ? imageSize : Math.round((imageSize * 256) / 224));
    if (imageSize > testResize) throw new OptionError('imageSize', `${imageSize} must not exceed testResize (${testResize})`);
    if (loaded.inChannels !== 1 && loaded.inChannels !== 3) throw new OptionError('weights', `the model takes ${loaded.inChannels} input channels; evaluation supports 1 or 3`);
    const precision = o.precision ?? 'fp32';
    const precisionIssue = precisionProblem(precision, device);
    if (precisionIssue) throw new OptionError('precision', precisionIssue);
    const defaultOut = runDir !== null ? new RunDirectory(runDir).file('eval') : join(dirname(loaded.path), RUN_FILES.eval);
    return {
      runDir,
      loaded,
      ownsModel,
      dataset: datasetName,
      dataRoot,
      transform: testTransform({ resize: testResize, crop: imageSize, channels: loaded.inChannels as 1 | 3, ...inputScaling(run?.normalization ?? meta?.normalization ?? 'mean-std', loaded.inChannels as 1 | 3) }),
      runs,
      profile: o.profile,
      iters,
      limit: o.limit,
      limitTest: (o.limitTest === undefined ? run?.limitTest : o.limitTest) ?? undefined,
      ks,
      batchSize: o.batchSize ?? EVALUATE_DEFAULTS.batchSize,
      seed: o.seed ?? run?.seed ?? 0,
      device,
      norm,
      stepSize,
      randomStart,
      mtaxTargets: o.mtaxTargets ?? EVALUATE_DEFAULTS.mtaxTargets,
      rankPartners: o.rankPartners ?? EVALUATE_DEFAULTS.rankPartners,
      threads: o.threads,
      conditionsPerPass: o.conditionsPerPass,
      precision,
      memoryFormat: o.memoryFormat ?? defaultMemoryFormat(precision, device),
      out: o.out === undefined ? defaultOut : o.out,
    };
  } catch (err) {
    if (ownsModel) loaded.model.dispose();
    throw err;
  }
}
