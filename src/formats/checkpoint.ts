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
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { OptimizerState } from '../optim/index.js';
import { dispose, onDevice, readSafetensors, tidy, writeSafetensors, type Tensor } from '../torch/index.js';
import { CHECKPOINT_FORMAT, manifestSchema, optimizerMetaSchema, trainerStateSchema, type Manifest, type TrainerState } from './checkpoint-files.js';
import { readJsonFile, writeJsonFile } from './json-file.js';
import { CHECKPOINT_FILES, RunDirectory } from './run-directory.js';

export interface Checkpoint {
  model: Map<string, Tensor>;
  optimizer: OptimizerState;
  /** By name `loss.<index>` in the order of the loss's parameters(). */
  loss: Map<string, Tensor>;
  trainer: TrainerState;
}

export interface SaveHooks {
  /** Called after each file is complete (tests use it to simulate a crash half-way). */
  afterFile?(name: string): void;
}


/** Writes the checkpoint of a run directory, replacing the previous one atomically. */
export function saveCheckpoint(runDir: string, checkpoint: Checkpoint, hooks: SaveHooks = {}): void {
  const run = new RunDirectory(runDir);
  const [current, next, previous] = [run.file('checkpoint'), run.file('nextCheckpoint'), run.file('previousCheckpoint')];
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
  return new RunDirectory(runDir).newestCheckpoint();
}

/** Reads a run's checkpoint; the tensors belong to the caller. Errors name the file at fault. */
export function loadCheckpoint(runDir: string): Checkpoint {
  const run = new RunDirectory(runDir);
  const dir = run.newestCheckpoint();
  if (dir === null) throw new Error(`${runDir}: no checkpoint (expected ${join(run.file('checkpoint'), CHECKPOINT_FILES.manifest)})`);
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
    optimizer: { tensors: tensorsOf(CHECKPOINT_FILES.optimizerTensors), meta: readJsonFile(join(dir, CHECKPOINT_FILES.optimizer), optimizerMetaSchema) },
    loss: tensorsOf(CHECKPOINT_FILES.loss),
    trainer: readJsonFile(join(dir, CHECKPOINT_FILES.trainer), trainerStateSchema),
  };
}

/** Frees a loaded checkpoint's tensors. */
export function disposeCheckpoint(checkpoint: Checkpoint): void {
  dispose(checkpoint.model);
  dispose(checkpoint.optimizer.tensors);
  dispose(checkpoint.loss);
}

/** CPU copies of device tensors (safetensors are written from host memory); CPU ones as they are. */
function onCpu(map: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
  return new Map([...map].map(([name, t]) => [name, onDevice(t, 'cpu')]));
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
