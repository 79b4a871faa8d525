// summary.json: what a finished run achieved, in the keys of the contract ("method",
// "dataset", "epochs", "test" with recall@1/2/4/8, nmi, map@r, pi_ratio, "train_seconds"), plus
// where the numbers come from. "test" holds the metrics of model.safetensors: the evaluation with
// the highest Recall@1; "final_test" those after the last epoch.
import type { EvaluationRecord, TrainerState } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import type { MetricValues } from './run-dir.js';

export const SUMMARY_METRICS = ['recall@1', 'recall@2', 'recall@4', 'recall@8', 'nmi', 'map@r', 'pi_ratio'] as const;

export interface RunSummary {
  method: string;
  dataset: string;
  /** Epochs trained. */
  epochs: number;
  test: MetricValues;
  train_seconds: number;
  eval_seconds: number;
  best_epoch: number | null;
  final_epoch: number | null;
  final_test: MetricValues | null;
  arch: string;
  embed_dim: number;
  loss: string;
  batch_size: number;
  lr: number;
  seed: number;
  threads: number;
  train_images: number;
  test_images: number;
  steps: number;
  /** Images that entered the joint forward per BN branch over the run (0 = clean, then the attacks). */
  samples_per_branch: number[];
  model_file: string;
  finished_at: string;
}

export interface SummaryInput {
  config: TrainConfig;
  state: TrainerState;
  trainImages: number;
  testImages: number;
  now?: Date;
}

/** Metrics in a fixed order: the contract's first, then any others. */
function ordered(metrics: MetricValues): MetricValues {
  const out: MetricValues = {};
  for (const key of SUMMARY_METRICS) if (key in metrics) out[key] = metrics[key]!;
  for (const [key, value] of Object.entries(metrics)) if (!(key in out)) out[key] = value;
  return out;
}

function metricsOf(record: EvaluationRecord | null): MetricValues | null {
  return record ? ordered(record.metrics) : null;
}

export function buildSummary({ config, state, trainImages, testImages, now }: SummaryInput): RunSummary {
  return {
    method: config.method,
    dataset: config.dataset,
    epochs: state.epoch,
    test: metricsOf(state.best) ?? {},
    train_seconds: round(state.trainSeconds),
    eval_seconds: round(state.evalSeconds),
    best_epoch: state.best?.epoch ?? null,
    final_epoch: state.lastEval?.epoch ?? null,
    final_test: metricsOf(state.lastEval),
    arch: config.arch,
    embed_dim: config.embedDim,
    loss: config.loss,
    batch_size: config.batchSize,
    lr: config.lr,
    seed: config.seed,
    threads: config.threads,
    train_images: trainImages,
    test_images: testImages,
    steps: state.step,
    samples_per_branch: state.samplesPerBranch,
    model_file: 'model.safetensors',
    finished_at: (now ?? new Date()).toISOString(),
  };
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
