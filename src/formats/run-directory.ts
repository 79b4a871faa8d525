// The run directory: the one place that knows its file names and which format each file has.
//   config.json         every resolved setting (config-file.ts)
//   metrics.jsonl       a line per epoch and per evaluation (metrics-log.ts)
//   model.safetensors   the run's model, clean branch; model.aux.safetensors its other branches (model-file.ts)
//   checkpoint/         everything a resumed run needs (its files: CHECKPOINT_FILES), with
//                       checkpoint.prev/ and checkpoint.next/ while one is being replaced
//   summary.json        what the run achieved (summary-file.ts)
//   eval.json           the robustness evaluation (eval-file.ts)
//   report.html         the run's report; views.json what it draws from the model (views-file.ts)
//   lock                the pid and host of the process writing the run, while it runs
// JSON files are written atomically; metrics.jsonl only grows, and a resumed run cuts it back to
// its length at the checkpoint so no line is written twice.
import { appendFileSync, closeSync, existsSync, ftruncateSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { configSchema, methodName, type TrainConfig } from './config-file.js';
import { FormatError } from './errors.js';
import { evalFileSchema, type EvalFile } from './eval-file.js';
import { experimentSchema, type ExperimentFile } from './experiment-file.js';
import { parseWithSchema, readJsonFile, writeJsonFile } from './json-file.js';
import { metricsLineSchema, type MetricsLine } from './metrics-log.js';
import { writeModelFile } from './model-file.js';
import type { EmbeddingModel } from '../nn/index.js';
import { summarySchema, type RunSummary } from './summary-file.js';
import { viewsSchema, type ViewsFile } from './views-file.js';

export const RUN_FILES = {
  config: 'config.json',
  metrics: 'metrics.jsonl',
  model: 'model.safetensors',
  checkpoint: 'checkpoint',
  previousCheckpoint: 'checkpoint.prev',
  nextCheckpoint: 'checkpoint.next',
  summary: 'summary.json',
  eval: 'eval.json',
  report: 'report.html',
  views: 'views.json',
  /** Present while a process writes the run: its pid and host (src/train/run-lock.ts). */
  lock: 'lock',
} as const;

/** The files of an experiment directory (its runs are OUT/<method>/seed-<s>/). */
export const EXPERIMENT_FILES = {
  experiment: 'experiment.json',
  report: 'report.html',
} as const;

/** Where an experiment keeps the run of one method and seed, relative to its directory. */
export function experimentRunPath(method: string, seed: number): string {
  return `${method}/seed-${seed}`;
}

/** An experiment directory: experiment.json, report.html and its runs OUT/<method>/seed-<s>/. */
export class ExperimentDirectory {
  constructor(readonly path: string) {}

  file(name: keyof typeof EXPERIMENT_FILES): string {
    return join(this.path, EXPERIMENT_FILES[name]);
  }

  has(name: keyof typeof EXPERIMENT_FILES): boolean {
    return existsSync(this.file(name));
  }

  /** A run of the experiment, by its path relative to the experiment (as experiment.json lists it). */
  run(relative: string): RunDirectory {
    return new RunDirectory(join(this.path, relative));
  }

  readExperiment(): ExperimentFile {
    return readJsonFile(this.file('experiment'), experimentSchema);
  }

  writeExperiment(file: ExperimentFile): void {
    writeJsonFile(this.file('experiment'), parseWithSchema(this.file('experiment'), experimentSchema, file));
  }
}

/** The files inside a checkpoint folder. */
export const CHECKPOINT_FILES = {
  model: 'model.safetensors',
  optimizerTensors: 'optimizer.safetensors',
  optimizer: 'optimizer.json',
  loss: 'loss.safetensors',
  trainer: 'trainer.json',
  /** Written last: names and sizes of the others. */
  manifest: 'manifest.json',
} as const;

export type RunFile = keyof typeof RUN_FILES;

export class RunDirectory {
  constructor(readonly path: string) {}

  file(name: RunFile): string {
    return join(this.path, RUN_FILES[name]);
  }

  /** Whether `path` holds a run (its config.json). */
  static holdsRun(path: string): boolean {
    return existsSync(join(path, RUN_FILES.config));
  }

  /**
   * Whether the run at `path` has got anywhere: a checkpoint, a model or a summary. A folder with
   * only config.json (and metrics) is a start that was killed before its first checkpoint.
   */
  static hasProgress(path: string): boolean {
    const run = new RunDirectory(path);
    return run.newestCheckpoint() !== null || run.has('model') || run.has('summary');
  }

  /**
   * The folder holding the run's newest complete checkpoint (one with its manifest, written last):
   * checkpoint/, or checkpoint.prev/ when a crash came between the two renames; null when none.
   */
  newestCheckpoint(): string | null {
    for (const name of ['checkpoint', 'previousCheckpoint'] as const) {
      if (existsSync(join(this.file(name), CHECKPOINT_FILES.manifest))) return this.file(name);
    }
    return null;
  }

  /** A run directory to read; throws naming the folder when it holds no run. */
  static open(path: string): RunDirectory {
    if (!RunDirectory.holdsRun(path)) throw new FormatError(path, null, `not a run directory (no ${RUN_FILES.config})`);
    return new RunDirectory(path);
  }

  has(name: RunFile): boolean {
    return existsSync(this.file(name));
  }

  readConfig(): TrainConfig {
    return readJsonFile(this.file('config'), configSchema);
  }

  writeConfig(config: TrainConfig): void {
    writeJsonFile(this.file('config'), config);
  }

  readSummary(): RunSummary {
    return readJsonFile(this.file('summary'), summarySchema);
  }

  writeSummary(summary: RunSummary): void {
    writeJsonFile(this.file('summary'), summary);
  }

  readEval(): EvalFile {
    return readJsonFile(this.file('eval'), evalFileSchema);
  }

  readViews(): ViewsFile {
    return readJsonFile(this.file('views'), viewsSchema);
  }

  appendMetrics(line: MetricsLine): void {
    appendFileSync(this.file('metrics'), `${JSON.stringify(line)}\n`);
  }

  metricsBytes(): number {
    return existsSync(this.file('metrics')) ? statSync(this.file('metrics')).size : 0;
  }

  /** Drops lines written after the checkpoint a run resumes from. */
  truncateMetrics(bytes: number): void {
    const fd = openSync(this.file('metrics'), existsSync(this.file('metrics')) ? 'r+' : 'w');
    try {
      ftruncateSync(fd, bytes);
    } finally {
      closeSync(fd);
    }
  }

  /** Removes half-written files (`<name>.tmp-<pid>`) a killed writer left; only the run's lock holder may call it. */
  removeTemporaries(): void {
    for (const name of readdirSync(this.path)) if (/\.tmp-\d+$/.test(name)) rmSync(join(this.path, name), { force: true });
  }

  readMetrics(): MetricsLine[] {
    if (!this.has('metrics')) return [];
    const path = this.file('metrics');
    return readFileSync(path, 'utf8')
      .split('\n')
      .map((line, i) => ({ line, i }))
      .filter(({ line }) => line.trim() !== '')
      .map(({ line, i }) => {
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch (err) {
          throw new FormatError(`${path}:${i + 1}`, null, `not valid JSON (${(err as Error).message})`);
        }
        return parseWithSchema(`${path}:${i + 1}`, metricsLineSchema, value);
      });
  }
}

/** Writes a run's model file: branch 0 with the run's settings in its metadata, its other branches beside it. */
export function writeRunModelFile(path: string, model: EmbeddingModel, config: TrainConfig, epoch: number, metrics: Record<string, number>): void {
  writeModelFile(path, model, {
    arch: config.arch,
    embedDim: config.embedDim,
    inChannels: config.channels,
    imageSize: config.imageSize,
    testResize: config.testResize,
    normalization: config.normalization,
    method: methodName(config.method),
    dataset: config.dataset,
    epoch,
    metrics: metrics['recall@1'] === undefined ? {} : { 'recall@1': metrics['recall@1'] },
  });
}
