// summary.json: what a finished training run achieved, written by the trainer and read by
// `mdprop compare`, experiments and reports. "test" holds the metrics of the run's model file.
import { z } from 'zod';
import type { MetricValues } from '../dml/index.js';

/** Metric name (recall@1, map@r, nmi, ...) -> value: dml's MetricValues. */
export const metricValuesSchema: z.ZodType<MetricValues> = z.record(z.string(), z.number());
export type { MetricValues };

const count = z.number().int().nonnegative();

export const summarySchema = z.object({
  method: z.string().min(1),
  dataset: z.string().min(1),
  /** Epochs trained. */
  epochs: count,
  /** Metrics of the run's model file (see model_selection). */
  test: metricValuesSchema,
  /** 'final': the last epoch's weights; 'best-test': the epoch with the best test Recall@1 (an optimistic choice). */
  model_selection: z.enum(['final', 'best-test']),
  model_epoch: count.nullable(),
  train_seconds: z.number().nonnegative(),
  eval_seconds: z.number().nonnegative(),
  best_epoch: count.nullable(),
  final_epoch: count.nullable(),
  final_test: metricValuesSchema.nullable(),
  arch: z.string(),
  embed_dim: count,
  loss: z.string(),
  batch_size: count,
  lr: z.number(),
  seed: count,
  threads: count,
  train_images: count,
  test_images: count,
  steps: count,
  /** Images that entered the joint forward per BN branch over the run (0 = clean, then the attacks). */
  samples_per_branch: z.array(count),
  model_file: z.string(),
  finished_at: z.string(),
});

export type RunSummary = z.infer<typeof summarySchema>;
