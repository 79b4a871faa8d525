// Starting and continuing a run: the checks, the lock, the data, the parts and the state the epoch
// loop (trainer.ts) begins from. A new run writes config.json and a first checkpoint; a resumed
// one restores its checkpoint and cuts metrics.jsonl back to it. Both build their parts the same
// way (prepare), with one compute setting for the run.
import { mkdirSync } from 'node:fs';
import { hashLabels } from '../data/index.js';
import { loadCheckpoint, disposeCheckpoint, findCheckpoint, RunDirectory, type TrainerState } from '../formats/index.js';
import { SINGLE_PROCESS, type Parallelism } from '../parallel/index.js';
import { ConfigError, setting, type TrainConfig } from './config.js';
import { restoreCheckpoint } from './learned-state.js';
import { checkFree, checkShards } from './resolve.js';
import { lockRun, type RunLock } from './run-lock.js';
import { buildParts, disposeParts, methodOf, openTrainingData, trainingCompute, trainSampler, type TrainingData, type TrainingParts } from './setup.js';
import { Trainer, type TrainerHooks } from './trainer.js';
import type { ComputeSetting } from '../evaluate/index.js';

/** The lock of a rank that does not write the run (rank 0 holds the real one). */
const FOLLOWER_LOCK: RunLock = { path: '', release() {} };

/**
 * A new run in config.out. A folder that holds a run with progress (a checkpoint, a model) is
 * refused; one whose start was killed before its first checkpoint is taken over. Writes
 * config.json and an initial checkpoint, holding the run's lock from before the first write.
 */
export async function startRun(config: TrainConfig, hooks: TrainerHooks = {}, parallel: Parallelism = SINGLE_PROCESS): Promise<Trainer> {
  // Only rank 0 writes the run; the other ranks of a data-parallel run neither check nor lock it.
  if (!parallel.writes) return fresh(config, hooks, parallel, () => FOLLOWER_LOCK);
  checkFree(config.out);
  return fresh(config, hooks, parallel, () => {
    const lock = lockRun(config.out, (line) => hooks.log?.(line));
    try {
      checkFree(config.out); // again, now that no one else can be writing it
    } catch (err) {
      lock.release();
      throw err;
    }
    if (RunDirectory.holdsRun(config.out)) hooks.log?.(`${config.out} holds a run stopped before its first checkpoint; starting it afresh`);
    return lock;
  });
}

/**
 * Continues the run in config.out from its checkpoint (config from resolveResumeConfig), or from
 * its beginning when it was stopped before the first checkpoint.
 */
export async function resumeRun(config: TrainConfig, hooks: TrainerHooks = {}, parallel: Parallelism = SINGLE_PROCESS): Promise<Trainer> {
  const lock = parallel.writes ? lockRun(config.out, (line) => hooks.log?.(line)) : FOLLOWER_LOCK;
  try {
    if (findCheckpoint(config.out) === null) {
      hooks.log?.(`${config.out} was stopped before its first checkpoint; starting it from the beginning`);
      return await fresh(config, hooks, parallel, () => lock);
    }
    return await continueRun(config, hooks, lock, parallel);
  } catch (err) {
    lock.release();
    throw err;
  }
}

interface Prepared {
  config: TrainConfig;
  compute: ComputeSetting;
  data: TrainingData;
  parts: TrainingParts;
}

/** What starting and resuming share: the settings checked, the compute setting, the data, the parts. */
async function prepare(given: TrainConfig, parallel: Parallelism, fromScratch: boolean): Promise<Prepared> {
  // The checkpoint holds the global sampler and rank 0's state: any number of ranks can go on from it.
  const config = { ...given, worldSize: parallel.worldSize };
  const method = methodOf(config);
  checkShards(config, method);
  const compute = trainingCompute(config, parallel.deviceFor(config.device));
  const data = await openTrainingData(config, compute);
  // A resumed run's weights come from its checkpoint, not from its pretrained file.
  const parts = buildParts(fromScratch ? config : { ...config, pretrained: null }, data.train.numClasses, compute, method);
  return { config, compute, data, parts };
}

async function fresh(given: TrainConfig, hooks: TrainerHooks, parallel: Parallelism, takeLock: () => RunLock): Promise<Trainer> {
  const { config, compute, data, parts } = await prepare(given, parallel, true);
  let lock: RunLock | undefined;
  try {
    broadcastParts(parallel, parts);
    const run = new RunDirectory(config.out);
    if (parallel.writes) mkdirSync(config.out, { recursive: true });
    lock = takeLock();
    if (parallel.writes) {
      run.removeTemporaries();
      run.writeConfig(config);
      run.truncateMetrics(0);
    }
    const state: TrainerState = {
      epoch: 0,
      step: 0,
      sampler: trainSampler(config, data.train.labels).state(),
      scheduler: parts.scheduler.stateDict(),
      partialEpoch: null,
      best: null,
      lastEval: null,
      trainSeconds: 0,
      evalSeconds: 0,
      samplesPerBranch: new Array<number>(parts.method.branches).fill(0),
      metricsBytes: 0,
    };
    const trainer = new Trainer(config, run, data, parts, compute, state, hooks, lock, parallel);
    trainer.saveCheckpoint();
    for (const note of [...data.warnings, ...parts.notes]) trainer.log(note);
    return trainer;
  } catch (err) {
    lock?.release();
    disposeParts(parts);
    throw err;
  }
}

async function continueRun(given: TrainConfig, hooks: TrainerHooks, lock: RunLock, parallel: Parallelism): Promise<Trainer> {
  const checkpoint = loadCheckpoint(given.out);
  let prepared: Prepared;
  try {
    prepared = await prepare(given, parallel, false);
  } catch (err) {
    disposeCheckpoint(checkpoint);
    throw err;
  }
  const { config, compute, data, parts } = prepared;
  const saved = checkpoint.trainer.sampler;
  if (saved.size !== data.train.size || saved.labelsHash !== hashLabels(data.train.labels)) {
    disposeCheckpoint(checkpoint);
    disposeParts(parts);
    throw new ConfigError(
      `${setting('resume')} ${config.out}: the training images changed since the run started (${saved.size} images then, ${data.train.size} now). ` +
        `Restore the data as it was to continue this run exactly, or start a new run with another ${setting('out')}` +
        (config.skipBadImages ? '.' : `; ${setting('skipBadImages')} in a new run drops unreadable images before training.`),
    );
  }
  try {
    restoreCheckpoint(parts, checkpoint);
  } catch (err) {
    disposeParts(parts);
    throw new ConfigError(`${setting('resume')} ${config.out}: the checkpoint does not fit this configuration: ${(err as Error).message}`);
  }
  const state = checkpoint.trainer;
  if (state.epoch > config.epochs) {
    disposeParts(parts);
    throw new ConfigError(`${setting('epochs')} ${config.epochs} is fewer than the ${state.epoch} epochs ${config.out} has completed`);
  }
  broadcastParts(parallel, parts);
  const run = new RunDirectory(config.out);
  if (parallel.writes) {
    run.removeTemporaries();
    run.truncateMetrics(state.metricsBytes);
    run.writeConfig(config);
  }
  const trainer = new Trainer(config, run, data, parts, compute, state, hooks, lock, parallel);
  const at = state.partialEpoch ? `in epoch ${state.epoch + 1} after step ${state.partialEpoch.steps}` : `after epoch ${state.epoch}`;
  trainer.log(`resuming ${config.out} ${at} (${state.step} steps so far)`);
  for (const warning of data.warnings) trainer.log(warning);
  return trainer;
}

/** Rank 0's weights, buffers and loss parameters on every rank (a no-op alone). */
function broadcastParts(parallel: Parallelism, parts: TrainingParts): void {
  if (parallel.worldSize === 1) return;
  const { model, criterion } = parts;
  parallel.broadcast([...model.parameters(), ...model.namedBuffers().map(([, b]) => b), ...criterion.parameters()]);
}
