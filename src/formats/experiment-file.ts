// experiment.json: several methods trained and evaluated alike over several seeds
// (`mdprop experiment`), with per-seed values, means and spreads, and each method's paired
// differences to the first method (the baseline) with confidence intervals.
import { z } from 'zod';
import { ATTACK_NAMES, ERS_COMPONENTS, PROFILE_NAMES } from '../adversarial/index.js';

/** One metric over the seeds, in seed order. */
export const seedStatSchema = z.strictObject({
  mean: z.number(),
  /** Sample standard deviation (n - 1); null with one seed. */
  std: z.number().nullable(),
  values: z.array(z.number()),
});

export const robustStatSchema = z.strictObject({
  attack: z.enum(ATTACK_NAMES),
  eps: z.number().nonnegative(),
  iters: z.number().int().nonnegative(),
  'recall@1': seedStatSchema,
});

/** The detector (`--detect`) over the seeds for one attack, budget and auxiliary branch. */
export const detectionStatSchema = z.strictObject({
  attack: z.enum(ATTACK_NAMES),
  eps: z.number().nonnegative(),
  eps_text: z.string(),
  iters: z.number().int().nonnegative(),
  branch: z.number().int().positive(),
  /** AUROC per seed, with mean and sample std (0.5 is chance). */
  auroc: seedStatSchema,
  /** Student-t 95% interval of the mean AUROC over the seeds; null with one seed. */
  ci95: z.tuple([z.number(), z.number()]).nullable(),
});

export const experimentMethodSchema = z.strictObject({
  name: z.string(),
  /** Run directories relative to the experiment directory, in seed order; none leads out of it. */
  runs: z.array(z.string().regex(/^(?![\\/])(?!(.*[\\/])?\.\.([\\/]|$)).+$/, 'a path inside the experiment folder (relative, with no ".." step)')),
  /** Clean metrics of the evaluated model: recall@K, map@r, nmi, ... */
  clean: z.record(z.string(), seedStatSchema),
  robust: z.array(robustStatSchema),
  /** RobRank's ERS over the seeds (1 robust; its tables show x 100), when the runs were evaluated with a profile. */
  ers: seedStatSchema.optional(),
  /** Each rescaled ERS component over the seeds (only those every run measured). */
  ers_components: z.partialRecord(z.enum(ERS_COMPONENTS), seedStatSchema).optional(),
  /** With --detect, for a method whose model has auxiliary BN branches: the detector's AUROC over the seeds. */
  detection: z.array(detectionStatSchema).optional(),
});

export const intervalSchema = z.tuple([z.number(), z.number()]);

export const differenceSchema = z.strictObject({
  method: z.string(),
  baseline: z.string(),
  /** 'recall@1', 'map@r', ..., or 'ers' (RobRank's score); attacked entries name their attack, eps and iters. */
  metric: z.string(),
  attack: z.enum(ATTACK_NAMES).optional(),
  eps: z.number().optional(),
  iters: z.number().int().optional(),
  /** Mean over seeds of (method - baseline) on the same seed. */
  mean: z.number(),
  /** Student-t 95% interval of that mean over seeds; null with one seed. */
  ci95: intervalSchema.nullable(),
  /** Per-seed differences, in seed order. */
  values: z.array(z.number()),
  /** Per seed: a percentile bootstrap 95% interval over the queries (Recall@1 only). */
  bootstrap95: z.array(z.strictObject({ seed: z.number().int(), ci95: intervalSchema })).optional(),
  /** Whether ci95 excludes zero. */
  significant: z.boolean(),
});

export const experimentSchema = z.strictObject({
  format: z.literal('mdprop.experiment/1'),
  preset: z.string().nullable(),
  dataset: z.string(),
  methods: z.array(experimentMethodSchema),
  differences: z.array(differenceSchema),
  seeds: z.array(z.number().int().nonnegative()),
  /** Every training setting the runs share (config.json fields less out and seed). */
  train: z.record(z.string(), z.unknown()),
  /** The attacked evaluation every run got. */
  evaluation: z.strictObject({
    /** RobRank's protocol every run was evaluated with (absent or null: mdprop's own attacks). */
    profile: z.enum(PROFILE_NAMES).nullable().optional(),
    /** Whether runs with auxiliary BN branches were also scored by the detector. */
    detect: z.boolean().optional(),
    attacks: z.array(z.enum(ATTACK_NAMES)),
    eps: z.array(z.union([z.number(), z.string()])),
    iters: z.number().int().positive(),
    limit: z.number().int().positive().nullable(),
    queries: z.number().int().nonnegative(),
    gallery: z.number().int().nonnegative(),
  }),
  /** 'final': the last epoch's model; 'best-test': chosen by test Recall@1 (optimistic). */
  model_selection: z.enum(['final', 'best-test']),
  wall_seconds: z.number().nonnegative(),
  finished_at: z.string(),
});

export type SeedStat = z.infer<typeof seedStatSchema>;
export type DetectionStat = z.infer<typeof detectionStatSchema>;
export type RobustStat = z.infer<typeof robustStatSchema>;
export type ExperimentMethod = z.infer<typeof experimentMethodSchema>;
export type Difference = z.infer<typeof differenceSchema>;
export type ExperimentFile = z.infer<typeof experimentSchema>;
