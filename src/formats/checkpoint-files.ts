// The JSON files of a checkpoint (trainer.json, optimizer.json, manifest.json) and the run's lock
// file: one zod schema each, with the types derived from them, so a damaged or hand-edited file is
// refused naming the file and the field, not met later as a crash.
import { z } from 'zod';

const count = z.number().int().nonnegative();
const seconds = z.number().nonnegative();

export const CHECKPOINT_FORMAT = 'mdprop.checkpoint/1';

const metrics = z.record(z.string(), z.number());
/** One evaluation: its epoch and its metrics. */
const evaluationRecord = z.object({ epoch: count, metrics });

/** Sums over the steps of the epoch in progress, so an epoch interrupted half-way reports as a whole. */
const epochProgress = z.object({ steps: count, lossSum: z.number(), seconds, samplesPerBranch: z.array(count) });

export const trainerStateSchema = z.object({
  /** Epochs completed. */
  epoch: count,
  /** Optimizer steps taken since the run began. */
  step: count,
  /** The data loader's position: the next batch to train on. */
  sampler: z.object({
    kind: z.enum(['class-balanced', 'class-random', 'random', 'sequential']),
    seed: z.number().int(),
    batchSize: count,
    samplesPerClass: count.optional(),
    dropLast: z.boolean().optional(),
    size: count,
    labelsHash: z.string(),
    epoch: count,
    batch: count,
  }),
  scheduler: z.object({ epoch: count, baseLrs: z.array(z.number()) }),
  /** The epoch in progress when the checkpoint was taken mid-epoch (Ctrl-C); null at an epoch's end. */
  partialEpoch: epochProgress.nullable(),
  /** The evaluation with the highest Recall@1 so far. */
  best: evaluationRecord.nullable(),
  lastEval: evaluationRecord.nullable(),
  trainSeconds: seconds,
  evalSeconds: seconds,
  /** Images per BN branch over the whole run. */
  samplesPerBranch: z.array(count),
  /** Length of metrics.jsonl when the checkpoint was taken. */
  metricsBytes: count,
});

export type TrainerState = z.infer<typeof trainerStateSchema>;
export type EpochProgress = z.infer<typeof epochProgress>;
export type EvaluationRecord = z.infer<typeof evaluationRecord>;

/** optimizer.json: the optimizer's groups with their hyperparameters, and each parameter's step and state tensors' names. */
export const optimizerMetaSchema = z.object({
  format: z.literal('mdprop.optim/1'),
  optimizer: z.string(),
  groups: z.array(z.object({ name: z.string(), size: count, hyper: z.record(z.string(), z.union([z.number(), z.boolean(), z.array(z.number())])) })),
  params: z.array(z.object({ shape: z.array(count), step: count, buffers: z.array(z.string()) })),
});

/** manifest.json, written last: the file names and their sizes. */
export const manifestSchema = z.object({
  format: z.string(),
  epoch: count,
  step: count,
  files: z.record(z.string(), count),
});

export type Manifest = z.infer<typeof manifestSchema>;

/** The lock file of a run being written: the writer's pid and host. */
export const lockFileSchema = z.object({
  pid: z.number().int(),
  host: z.string(),
  /** Runs locked before it was recorded read as 'unknown'. */
  since: z.string().default('unknown'),
});

export type LockHolder = z.infer<typeof lockFileSchema>;
