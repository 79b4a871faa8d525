// Building summary.json (its schema: src/formats/summary-file.ts): "method", "dataset", "epochs",
// "test" with the dataset's Recall@K, nmi, map@r, map_c, pi_ratio, "train_seconds", plus where the
// numbers come from. "test" holds the metrics of model.safetensors: the evaluation with the
// highest Recall@1; "final_test" those after the last epoch.
import { DATASETS } from '../data/index.js';
import { recallKey } from '../dml/index.js';
import { methodName, RUN_FILES, type EvaluationRecord, type MetricValues, type RunSummary, type TrainerState } from '../formats/index.js';
import type { TrainConfig } from './config.js';

/** The metrics a summary lists first, in this order: Recall@K of the dataset's protocol, then these. */
export function summaryMetrics(dataset: TrainConfig['dataset']): string[] {
  return [...DATASETS[dataset].recallKs.map(recallKey), 'nmi', 'map@r', 'map_c', 'pi_ratio'];
}

export interface SummaryInput {
  config: TrainConfig;
  state: TrainerState;
  trainImages: number;
  testImages: number;
  now?: Date;
}

/** Metrics in a fixed order: the protocol's first, then any others. */
function ordered(metrics: MetricValues, first: readonly string[]): MetricValues {
  const out: MetricValues = {};
  for (const key of first) if (key in metrics) out[key] = metrics[key]!;
  for (const [key, value] of Object.entries(metrics)) if (!(key in out)) out[key] = value;
  return out;
}

export function buildSummary({ config, state, trainImages, testImages, now }: SummaryInput): RunSummary {
  const first = summaryMetrics(config.dataset);
  const metricsOf = (record: EvaluationRecord | null): MetricValues | null => (record ? ordered(record.metrics, first) : null);
  return {
    method: methodName(config.method),
    dataset: config.dataset,
    epochs: state.epoch,
    test: metricsOf(modelRecord(config, state)) ?? {},
    model_selection: config.modelSelection,
    model_epoch: modelRecord(config, state)?.epoch ?? null,
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
    model_file: RUN_FILES.model,
    finished_at: (now ?? new Date()).toISOString(),
  };
}

/** The evaluation whose weights are in the model file. */
export function modelRecord(config: TrainConfig, state: TrainerState): EvaluationRecord | null {
  return config.modelSelection === 'final' ? state.lastEval : state.best;
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
