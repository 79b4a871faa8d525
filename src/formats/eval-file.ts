// eval.json: a robustness evaluation of one model (what `mdprop eval` and `evaluate()` produce).
// Its core is the `mdprop eval --json` contract:
//   {"clean": {"recall@1", ..., "map@r", "map_c", "nmi"},
//    "attacks": [{"attack", "eps", "iters", "recall@1", "map@r", "success_rate"?}, ...]}
// with eps in the unit the user wrote it in (4/255 -> 0.0157, a share of the pixel range), and
// `ers` (RobRank's empirical robustness score per budget) whenever an attack of its ten components ran;
// eval.json adds `details` (every metric of each attack entry) and `settings`.
import { z } from 'zod';
import { ATTACK_NAMES, ERS_COMPONENTS, PROFILE_NAMES } from '../adversarial/index.js';
import { MEMORY_FORMATS, PRECISIONS } from '../nn/index.js';
import { metricValuesSchema } from './summary-file.js';

const rate = z.number().min(0).max(1);
const iters = z.number().int().nonnegative();

export const attackEntrySchema = z.strictObject({
  attack: z.enum(ATTACK_NAMES),
  eps: z.number().nonnegative(),
  iters,
  'recall@1': rate,
  'map@r': rate,
  success_rate: rate.optional(),
});

/** One ERS component under RobRank's name: the measure and its rescaling (1 robust). */
export const ersValueSchema = z.strictObject({ raw: z.number(), rescaled: z.number() });

export const ersEntrySchema = z.strictObject({
  eps: z.number().nonnegative(),
  eps_text: z.string(),
  iters,
  /** ERS: the mean of the rescaled components present (1 robust; RobRank's tables show x 100); null when none is. */
  score: z.number().nullable(),
  components: z.partialRecord(z.enum(ERS_COMPONENTS), ersValueSchema),
  missing: z.array(z.enum(ERS_COMPONENTS)),
});

/** ERS entries of older eval.json files: six components in lower case, rescaled to [0, 100], no raw values. */
const LEGACY_ERS_COMPONENTS = ['ca+', 'ca-', 'qa+', 'qa-', 'es:d', 'es:r'] as const;
export const legacyErsEntrySchema = z.strictObject({
  eps: z.number().nonnegative(),
  eps_text: z.string(),
  iters,
  score: z.number().nullable(),
  components: z.partialRecord(z.enum(LEGACY_ERS_COMPONENTS), z.number()),
  missing: z.array(z.enum(LEGACY_ERS_COMPONENTS)),
});

/** Exactly what `mdprop eval --json` prints. */
export const evalOutputSchema = z.strictObject({
  clean: metricValuesSchema,
  attacks: z.array(attackEntrySchema),
  /** Present when an attack of the ERS ran (e.g. with --profile rob28). */
  ers: z.array(ersEntrySchema).optional(),
});

export const attackDetailSchema = z.strictObject({
  attack: z.enum(ATTACK_NAMES),
  /** The budget as written ("0.01", "4/255") and its unit. */
  eps_text: z.string(),
  eps_unit: z.enum(['normalized', 'pixel']),
  iters,
  metrics: metricValuesSchema,
  success_rate: rate.optional(),
  /** Ranking attacks: mean rank percentile in [0, 1]. */
  rank: rate.optional(),
  /** TMA: mean cosine of the attacked queries to their targets. */
  cosine: z.number().optional(),
  /** GTT: share of queries whose clean top-1 stays in their top 4. */
  retain: rate.optional(),
  embedding_shift: z.number().nonnegative(),
  max_perturbation: z.number().nonnegative(),
  /** Per query (in query order): 1 when its nearest clean gallery image has its class. */
  hits: z.array(z.union([z.literal(0), z.literal(1)])).optional(),
});


/**
 * One detector result (`mdprop eval --detect`): how well the gap between a query's embeddings
 * through the clean branch and through auxiliary branch `branch` separates the queries attacked
 * by `attack` at `eps` from the clean queries.
 */
export const detectionEntrySchema = z.strictObject({
  attack: z.enum(ATTACK_NAMES),
  eps: z.number().nonnegative(),
  eps_text: z.string(),
  iters,
  branch: z.number().int().positive(),
  /** Area under the ROC curve: 0.5 is chance, 1 perfect, below 0.5 attacked queries look cleaner. */
  auroc: rate,
  /** The ROC curve (at most 101 points): false- and true-positive rates. */
  roc: z.strictObject({ fpr: z.array(rate), tpr: z.array(rate) }),
  /** Mean gap of the attacked and of the clean queries. */
  mean_gap_attacked: z.number().nonnegative(),
  mean_gap_clean: z.number().nonnegative(),
});

export const evalSettingsSchema = z.strictObject({
  run: z.string().nullable(),
  weights: z.string(),
  dataset: z.string(),
  data_root: z.string().nullable(),
  arch: z.string(),
  embed_dim: z.number().int().positive(),
  branch: z.number().int().nonnegative(),
  branches: z.number().int().positive(),
  image_size: z.number().int().positive(),
  test_resize: z.number().int().positive(),
  channels: z.number().int().positive(),
  queries: z.number().int().nonnegative(),
  gallery: z.number().int().nonnegative(),
  limit: z.number().int().positive().nullable(),
  /** The test set's size limit per split, as the run was evaluated during training (null: all). */
  limit_test: z.number().int().positive().nullable(),
  seed: z.number().int().nonnegative(),
  norm: z.enum(['linf', 'l2']),
  step_size: z.string(),
  random_start: z.union([z.literal('eps'), z.number().nonnegative()]),
  mtax_targets: z.number().int().positive(),
  rank_partners: z.number().int().positive(),
  top_fraction: z.number().positive(),
  ks: z.array(z.number().int().positive()),
  device: z.string(),
  /** RobRank's profile that fixed the attacks and budgets (null: chosen by hand). */
  profile: z.enum(PROFILE_NAMES).nullable().optional(),
  /** PGD iterations asked for (single-step attacks take one). */
  iters: iters.optional(),
  /** The input normalisation pixel budgets were converted with: x' = (x - mean) / std. */
  input_mean: z.array(z.number()).optional(),
  input_std: z.array(z.number().positive()).optional(),
  /** Precision and memory format of the model's layers, attacks included (absent in files from before they were recorded: fp32, contiguous). */
  precision: z.enum(PRECISIONS).optional(),
  memory_format: z.enum(MEMORY_FORMATS).optional(),
});

export const evalFileSchema = z.strictObject({
  ...evalOutputSchema.shape,
  /** Per query of the clean evaluation: 1 when the nearest gallery image has the query's class. */
  clean_hits: z.array(z.union([z.literal(0), z.literal(1)])).optional(),
  /** The query images' positions in the test split (seeded subset with a limit). */
  query_ids: z.array(z.number().int().nonnegative()).optional(),
  details: z.array(attackDetailSchema),
  ers: z.array(z.union([ersEntrySchema, legacyErsEntrySchema])),
  /** With --detect: per attack, budget and auxiliary branch, the detector's AUROC. */
  detection: z.array(detectionEntrySchema).optional(),
  settings: evalSettingsSchema,
});

export type AttackEntry = z.infer<typeof attackEntrySchema>;
export type EvalOutput = z.infer<typeof evalOutputSchema>;
export type AttackDetail = z.infer<typeof attackDetailSchema>;
export type ErsEntry = z.infer<typeof ersEntrySchema>;
export type LegacyErsEntry = z.infer<typeof legacyErsEntrySchema>;
export type EvalSettings = z.infer<typeof evalSettingsSchema>;
export type EvalFile = z.infer<typeof evalFileSchema>;
export type DetectionEntry = z.infer<typeof detectionEntrySchema>;
