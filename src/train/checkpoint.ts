// The last checkpoint of a run, `checkpoint/` in the run directory: everything a resumed run needs
// to continue exactly where this one stopped.
//   model.safetensors      every parameter and buffer, auxiliary BN branches included
//   optimizer.safetensors  optimizer state tensors; optimizer.json its groups and step counts
//   loss.safetensors       the loss's own parameters (proxies, margins), `loss.<i>`
//   trainer.json           epoch, step, sampler and scheduler state, best metric, timings
//   manifest.json          written last: the file names and their sizes
// Atomic: the files go into checkpoint.next/, which then replaces checkpoint/ by two renames
// (checkpoint -> checkpoint.prev, checkpoint.next -> checkpoint). A crash at any moment leaves a
// complete checkpoint in checkpoint/ or, between the renames, in checkpoint.prev/; the loader
// looks in that order and checks every file's size against the manifest.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { SamplerState } from '../data/index.js';
import type { OptimizerState, OptimizerStateMeta, SchedulerState } from '../optim/index.js';
import { dispose, readSafetensors, tidy, writeSafetensors, type Tensor } from '../torch/index.js';
import { CHECKPOINT_FILES, readJsonFile, RUN_FILES, writeJsonFile, type MetricValues } from '../formats/index.js';
import { manifestSchema, trainerStateSchema } from './checkpoint-files.js';

export const CHECKPOINT_FORMAT = 'mdprop.checkpoint/1';

/** Sums over the steps of the epoch in progress, so an epoch interrupted half-way reports as a whole. */
export interface EpochProgress {
  steps: number;
  lossSum: number;
  seconds: number;
  samplesPerBranch: number[];
}

export interface EvaluationRecord {
  epoch: number;
  metrics: MetricValues;
}

export interface TrainerState {
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps taken since the run began. */
  step: number;
  /** The data loader's position: the next batch to train on. */
  sampler: SamplerState;
  scheduler: SchedulerState;
  /** The epoch in progress when the checkpoint was taken mid-epoch (Ctrl-C); null at an epoch's end. */
  partialEpoch: EpochProgress | null;
  /** The evaluation whose weights are in model.safetensors (highest Recall@1 so far). */
  best: EvaluationRecord | null;
  lastEval: EvaluationRecord | null;
  trainSeconds: number;
  evalSeconds: number;
  /** Images per BN branch over the whole run. */
  samplesPerBranch: number[];
  /** Length of metrics.jsonl when the checkpoint was taken. */
  metricsBytes: number;
}

export interface Checkpoint {
  model: Map<string, Tensor>;
  optimizer: OptimizerState;
  /** By name `loss.<index>` in the order of the loss's parameters(). */
  loss: Map<string, Tensor>;
  trainer: TrainerState;
}

interface Manifest {
  format: typeof CHECKPOINT_FORMAT;
  epoch: number;
  step: number;
  files: Record<string, number>;
}

export interface SaveHooks {
  /** Called after each file is complete (tests use it to simulate a crash half-way). */
  afterFile?(name: string): void;
}


/** Writes the checkpoint of a run directory, replacing the previous one atomically. */
export function saveCheckpoint(runDir: string, checkpoint: Checkpoint, hooks: SaveHooks = {}): void {
  const current = join(runDir, RUN_FILES.checkpoint);
  const next = join(runDir, RUN_FILES.nextCheckpoint);
  const previous = join(runDir, RUN_FILES.previousCheckpoint);
  rmSync(next, { recursive: true, force: true });
  mkdirSync(next, { recursive: true });
  const files: Record<string, number> = {};
  const put = (name: string, write: (path: string) => void) => {
    const path = join(next, name);
    write(path);
    files[name] = statSync(path).size;
    hooks.afterFile?.(name);
  };
  const metadata = { format: CHECKPOINT_FORMAT };
  tidy(() => {
    put(CHECKPOINT_FILES.model, (p) => writeSafetensors(p, onCpu(checkpoint.model), metadata));
    put(CHECKPOINT_FILES.optimizerTensors, (p) => writeSafetensors(p, onCpu(checkpoint.optimizer.tensors), metadata));
    put(CHECKPOINT_FILES.loss, (p) => writeSafetensors(p, onCpu(checkpoint.loss), metadata));
  });
  put(CHECKPOINT_FILES.optimizer, (p) => writeJsonFile(p, checkpoint.optimizer.meta));
  put(CHECKPOINT_FILES.trainer, (p) => writeJsonFile(p, checkpoint.trainer));
  const manifest: Manifest = { format: CHECKPOINT_FORMAT, epoch: checkpoint.trainer.epoch, step: checkpoint.trainer.step, files };
  writeJsonFile(join(next, CHECKPOINT_FILES.manifest), manifest);
  fsyncPath(next);

  if (existsSync(current)) {
    rmSync(previous, { recursive: true, force: true });
    renameSync(current, previous);
  }
  renameSync(next, current);
  fsyncPath(runDir);
  rmSync(previous, { recursive: true, force: true });
}

/** The folder holding the run's newest complete checkpoint, or null when it has none. */
export function findCheckpoint(runDir: string): string | null {
  for (const name of [RUN_FILES.checkpoint, RUN_FILES.previousCheckpoint]) {
    const dir = join(runDir, name);
    if (existsSync(join(dir, CHECKPOINT_FILES.manifest))) return dir;
  }
  return null;
}

/** Reads a run's checkpoint; the tensors belong to the caller. Errors name the file at fault. */
export function loadCheckpoint(runDir: string): Checkpoint {
  const dir = findCheckpoint(runDir);
  if (dir === null) throw new Error(`${runDir}: no checkpoint (expected ${join(runDir, RUN_FILES.checkpoint, CHECKPOINT_FILES.manifest)})`);
  const manifest = readJsonFile(join(dir, CHECKPOINT_FILES.manifest), manifestSchema);
  if (manifest.format !== CHECKPOINT_FORMAT) throw new Error(`${dir}: unknown checkpoint format '${String(manifest.format)}'`);
  for (const [name, size] of Object.entries(manifest.files)) {
    const path = join(dir, name);
    const actual = existsSync(path) ? statSync(path).size : -1;
    if (actual !== size) throw new Error(`${path}: ${actual < 0 ? 'missing' : `${actual} bytes, the manifest says ${size}`}; the checkpoint is damaged`);
  }
  const tensorsOf = (name: string) => readSafetensors(join(dir, name)).tensors;
  return {
    model: tensorsOf(CHECKPOINT_FILES.model),
    optimizer: { tensors: tensorsOf(CHECKPOINT_FILES.optimizerTensors), meta: readJson<OptimizerStateMeta>(join(dir, CHECKPOINT_FILES.optimizer)) },
    loss: tensorsOf(CHECKPOINT_FILES.loss),
    trainer: readJsonFile(join(dir, CHECKPOINT_FILES.trainer), trainerStateSchema) as TrainerState,
  };
}

/** Frees a loaded checkpoint's tensors. */
export function disposeCheckpoint(checkpoint: Checkpoint): void {
  dispose(checkpoint.model);
  dispose(checkpoint.optimizer.tensors);
  dispose(checkpoint.loss);
}

function readJson<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (err) {
    throw new Error(`${path}: cannot read (${(err as Error).message})`);
  }
}

/** CPU copies of device tensors (safetensors are written from host memory); CPU ones as they are. */
function onCpu(map: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
  return new Map([...map].map(([name, t]) => [name, t.device === 'cpu' ? t : t.to('cpu')]));
}

/** Flushes a file's or folder's metadata (a folder after renames), so a power cut keeps them. */
function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
