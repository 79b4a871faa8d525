// The JSON files of a checkpoint: zod schemas of trainer.json and manifest.json, so a damaged or
// hand-edited checkpoint is refused naming the file and the field, not met later as a crash.
import { z } from 'zod';

const count = z.number().int().nonnegative();
const seconds = z.number().nonnegative();

const metrics = z.record(z.string(), z.number());
const record = z.object({ epoch: count, metrics }).nullable();

export const trainerStateSchema = z.object({
  epoch: count,
  step: count,
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
  partialEpoch: z.object({ steps: count, lossSum: z.number(), seconds, samplesPerBranch: z.array(count) }).nullable(),
  best: record,
  lastEval: record,
  trainSeconds: seconds,
  evalSeconds: seconds,
  samplesPerBranch: z.array(count),
  metricsBytes: count,
});

export const manifestSchema = z.object({
  format: z.string(),
  epoch: count,
  step: count,
  files: z.record(z.string(), count),
});
