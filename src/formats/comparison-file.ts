// comparison.json: runs side by side (`mdprop compare --json` / --out): each run's clean metrics,
// and for every (attack, eps, iters) each run's Recall@1 and its robustness ratio to the first run.
import { z } from 'zod';
import { metricValuesSchema } from './summary-file.js';

export const comparisonRowSchema = z.strictObject({
  attack: z.string(),
  eps: z.number(),
  iters: z.number().int().nonnegative(),
  /** Attacked Recall@1 per run, in run order (null where a run lacks this attack). */
  recall1: z.array(z.number().nullable()),
  /** recall1[i] / recall1[0] (null where either is missing or the reference is 0). */
  ratio: z.array(z.number().nullable()),
});

export const comparisonSchema = z.strictObject({
  runs: z.array(z.strictObject({ name: z.string(), method: z.string(), clean: metricValuesSchema })),
  attacks: z.array(comparisonRowSchema),
});

export type ComparisonRow = z.infer<typeof comparisonRowSchema>;
export type Comparison = z.infer<typeof comparisonSchema>;
