// Planning a robustness evaluation: which model, which data, which attacks. Settings come from the
// options, then the run's config.json, then what the model file records, then the dataset's
// defaults; every check runs before any image is read.
import { dirname } from 'node:path';
import { checkBudgetNorm, PROFILES, toBudget, type AttackCondition, type Budget, type ProfileName } from '../adversarial/index.js';
import { DATASETS, isDatasetName, type DatasetName } from '../data/index.js';
import { FormatError, loadModelFile, RunDirectory, type LoadedModel, type TrainConfig } from '../formats/index.js';
import { resolveDeviceSetting, withTestImages, type ComputeSetting } from './compute.js';
import { checkEvaluateOptions, EVALUATE_DEFAULTS, OptionError, type EvaluateOptionValues } from './options.js';

export interface EvalPlan {
  runDir: string | null;
  loaded: LoadedModel;
  /** Whether the plan loaded the model (and so disposes it). */
  ownsModel: boolean;
  dataset: DatasetName;
  dataRoot: string | undefined;
  /** Device, precision, memory format, threads and the test transform. */
  compute: ComputeSetting;
  conditions: AttackCondition[];
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
  norm: 'linf' | 'l2';
  stepSize: Budget | undefined;
  randomStart: number | 'eps';
  mtaxTargets: number;
  rankPartners: number;
  conditionsPerPass: number | undefined;
  out: string | null;
}

function budgetOf(option: string, value: number | string): Budget {
  try {
    return toBudget(value);
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
  try {
    checkBudgetNorm(norm, [...budgets, ...(stepSize ? [stepSize] : [])]);
  } catch (err) {
    throw new OptionError('norm', (err as Error).message);
  }
  const iters = o.iters ?? EVALUATE_DEFAULTS.iters;
  const attacks = [...new Set(o.attacks ?? EVALUATE_DEFAULTS.attacks)];
  const conditions = attacks.flatMap((attack) => budgets.map((budget) => ({ attack, budget, iters })));
  const start = o.randomStart ?? EVALUATE_DEFAULTS.randomStart;
  const randomStart = start === 'none' ? 0 : start;
  return { conditions, stepSize, norm, randomStart, iters };
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
  const { conditions, stepSize, norm, randomStart, iters } = attackSettings(o);
  const deviceSetting = resolveDeviceSetting({ device: o.device, precision: o.precision, memoryFormat: o.memoryFormat, threads: o.threads });
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
    const dataset = DATASETS[datasetName];
    if (!dataset.needsRoot && o.dataRoot !== undefined) throw new OptionError('dataRoot', `${datasetName} is embedded and takes no root`);
    const dataRoot = o.dataRoot ?? (datasetName === run?.dataset ? (run.dataRoot ?? undefined) : undefined);
    if (dataset.needsRoot && dataRoot === undefined) throw new OptionError('dataRoot', `required for ${datasetName}`);
    const ks = [...new Set([1, ...(o.ks ?? dataset.recallKs)])].sort((a, b) => a - b);
    const imageSize = o.imageSize ?? run?.imageSize ?? meta?.image_size ?? dataset.images.size;
    // Without a recorded resize, the dataset's ratio of resize to crop (ImageNet's 256 to 224).
    const testResize = o.testResize ?? run?.testResize ?? meta?.test_resize ?? Math.round((imageSize * dataset.images.testResize) / dataset.images.size);
    if (loaded.inChannels !== 1 && loaded.inChannels !== 3) throw new OptionError('weights', `the model takes ${loaded.inChannels} input channels; evaluation supports 1 or 3`);
    const channels = loaded.inChannels as 1 | 3;
    const compute = withTestImages(deviceSetting, { imageSize, testResize, channels, normalization: run?.normalization ?? meta?.normalization ?? 'mean-std' });
    const defaultOut = new RunDirectory(runDir ?? dirname(loaded.path)).file('eval');
    return {
      runDir,
      loaded,
      ownsModel,
      dataset: datasetName,
      dataRoot,
      compute,
      conditions,
      profile: o.profile,
      iters,
      limit: o.limit,
      limitTest: (o.limitTest === undefined ? run?.limitTest : o.limitTest) ?? undefined,
      ks,
      batchSize: o.batchSize ?? EVALUATE_DEFAULTS.batchSize,
      seed: o.seed ?? run?.seed ?? 0,
      norm,
      stepSize,
      randomStart,
      mtaxTargets: o.mtaxTargets ?? EVALUATE_DEFAULTS.mtaxTargets,
      rankPartners: o.rankPartners ?? EVALUATE_DEFAULTS.rankPartners,
      conditionsPerPass: o.conditionsPerPass,
      out: o.out === undefined ? defaultOut : o.out,
    };
  } catch (err) {
    if (ownsModel) loaded.model.dispose();
    throw err;
  }
}
