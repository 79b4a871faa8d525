// The library's entry points for training: typed, checked options in, a finished run directory
// and its summary out. `mdprop train` is a thin adapter over these.
import type { DatasetName } from '../data/index.js';
import type { RunSummary, TrainConfig } from '../formats/index.js';
import type { Parallelism } from '../parallel/index.js';
import type { Trainer, TrainerHooks } from './trainer.js';
import { resumeRun, startRun } from './run-start.js';
import { resolveConfig, resolveResumeConfig, type GivenSettings } from './resolve.js';

/** Any setting of config.json; the dataset is required, everything else has the dataset's default. */
export type TrainOptions = Partial<TrainConfig> & { dataset: DatasetName };

export interface TrainControl extends TrainerHooks {
  /** Aborting stops after the current step with a checkpoint (the promise rejects with TrainingInterrupted). */
  signal?: AbortSignal;
  /** This process's part in a data-parallel run (see joinRun); default: it trains alone. */
  parallel?: Parallelism;
}

/** The configuration `train(options)` would run with: defaults, then the options; throws ConfigError naming the field. */
export function resolveTrainConfig(options: TrainOptions): TrainConfig {
  return resolveConfig({ given: options as GivenSettings });
}

async function run(trainer: Trainer, control: TrainControl): Promise<RunSummary> {
  const stop = () => trainer.requestStop();
  if (control.signal?.aborted) stop();
  control.signal?.addEventListener('abort', stop);
  try {
    return await trainer.train();
  } finally {
    control.signal?.removeEventListener('abort', stop);
    trainer.dispose();
  }
}

/** Trains a new run in `options.out` (default runs/<dataset>-<method>-<time>) and returns its summary. */
export async function train(options: TrainOptions, control: TrainControl = {}): Promise<RunSummary> {
  return run(await startRun(resolveTrainConfig(options), control, control.parallel), control);
}

/** Continues the run in `runDir` from its checkpoint; only epochs, evalEvery, evalBatchSize, threads and device may change. */
export async function resumeTraining(runDir: string, changes: Partial<TrainConfig> = {}, control: TrainControl = {}): Promise<RunSummary> {
  return run(await resumeRun(resolveResumeConfig(runDir, {}, changes as GivenSettings), control, control.parallel), control);
}
