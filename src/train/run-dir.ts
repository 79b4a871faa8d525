// The run directory's files other than the checkpoint: config.json (every resolved setting),
// metrics.jsonl (one JSON line per epoch and per evaluation), model.safetensors (the best
// weights) and summary.json. Whole files are written atomically; metrics.jsonl only grows, and a
// resumed run cuts it back to its length at the checkpoint so no line is written twice.
import { existsSync, mkdirSync, openSync, closeSync, ftruncateSync, appendFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../torch/index.js';
import { ConfigError, type TrainConfig } from './config.js';

/** What an evaluation measures, keyed by the names of `mdprop metrics` (recall@1, nmi, map@r, ...). */
export type MetricValues = Record<string, number>;

export interface EpochLine {
  kind: 'epoch';
  epoch: number;
  /** Mean training loss over the epoch's steps. */
  loss: number;
  /** Wall-clock seconds of the epoch's steps, data waits included, evaluation excluded. */
  seconds: number;
  /** Learning rate of the backbone group during the epoch. */
  lr: number;
  steps: number;
  /** Images that entered the joint forward, per BN branch (0 = clean). */
  samples_per_branch: number[];
}

export interface EvalLine {
  kind: 'eval';
  epoch: number;
  seconds: number;
  metrics: MetricValues;
}

export type MetricsLine = EpochLine | EvalLine;

export const RUN_FILES = {
  config: 'config.json',
  metrics: 'metrics.jsonl',
  bestModel: 'model.safetensors',
  checkpoint: 'checkpoint',
  summary: 'summary.json',
} as const;

export class RunDirectory {
  constructor(readonly path: string) {}

  file(name: keyof typeof RUN_FILES): string {
    return join(this.path, RUN_FILES[name]);
  }

  /** Refuses a folder that holds a run already (checked before any work starts). */
  static checkFree(path: string): void {
    if (existsSync(join(path, RUN_FILES.config))) {
      throw new ConfigError(`--out ${path} already holds a run (config.json); continue it with --resume ${path} or choose another --out`);
    }
  }

  /** A new run: the folder may exist but must not hold a run already. */
  static create(path: string): RunDirectory {
    RunDirectory.checkFree(path);
    mkdirSync(path, { recursive: true });
    return new RunDirectory(path);
  }

  writeConfig(config: TrainConfig): void {
    writeJson(this.file('config'), config);
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

  readMetrics(): MetricsLine[] {
    if (!existsSync(this.file('metrics'))) return [];
    return readFileSync(this.file('metrics'), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as MetricsLine);
  }

  writeSummary(summary: object): void {
    writeJson(this.file('summary'), summary);
  }
}

export function writeJson(path: string, value: unknown): void {
  writeFileAtomic(path, [Buffer.from(`${JSON.stringify(value, null, 2)}\n`, 'utf8')]);
}
