// metrics.jsonl: one JSON line per finished epoch and per evaluation, appended as training goes.
import { z } from 'zod';
import { metricValuesSchema } from './summary-file.js';

export const epochLineSchema = z.object({
  kind: z.literal('epoch'),
  epoch: z.number().int().positive(),
  /** Mean training loss over the epoch's steps. */
  loss: z.number(),
  /** Wall-clock seconds of the epoch's steps, data waits included, evaluation excluded. */
  seconds: z.number().nonnegative(),
  /** Learning rate of the backbone group during the epoch. */
  lr: z.number(),
  steps: z.number().int().nonnegative(),
  /** Images that entered the joint forward, per BN branch (0 = clean). */
  samples_per_branch: z.array(z.number().int().nonnegative()),
});

export const evalLineSchema = z.object({
  kind: z.literal('eval'),
  epoch: z.number().int().nonnegative(),
  seconds: z.number().nonnegative(),
  metrics: metricValuesSchema,
});

export const metricsLineSchema = z.discriminatedUnion('kind', [epochLineSchema, evalLineSchema]);

export type EpochLine = z.infer<typeof epochLineSchema>;
export type EvalLine = z.infer<typeof evalLineSchema>;
export type MetricsLine = z.infer<typeof metricsLineSchema>;
