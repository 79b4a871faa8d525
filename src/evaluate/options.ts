// The options of a robustness evaluation: a zod schema (so a library caller's values are checked
// and each error names its option) and the defaults. The command line maps flags onto these names.
import { z } from 'zod';
import { ATTACK_NAMES, PROFILE_NAMES, type AttackName } from '../adversarial/index.js';
import { DATASET_NAMES } from '../data/index.js';
import { fieldPath } from '../formats/index.js';
import { ARCHS, MEMORY_FORMATS, PRECISIONS, type Arch } from '../nn/index.js';

/** An option that cannot be used; `option` is its name in EvaluateOptions (`eps`, `dataRoot`, ...). */
export class OptionError extends Error {
  override name = 'OptionError';
  constructor(
    readonly option: string,
    readonly detail: string,
  ) {
    super(`${option}: ${detail}`);
  }
}

const count = (min: number, max = 1_000_000) => z.number().int().min(min).max(max);
/** A budget: a number in normalised-input units (0.01) or a share of the pixel range as text ("4/255"). */
const budget = z.union([z.number().nonnegative().finite(), z.string().min(1)]);

export const evaluateOptionsSchema = z.strictObject({
  /** Weights to evaluate instead of the run's model file (needed without a run directory). */
  weights: z.string().min(1).optional(),
  /** Needed only for weights that record neither. */
  arch: z.enum(ARCHS as [Arch, ...Arch[]], { error: (i) => `unknown architecture '${String(i.input)}'; expected one of ${ARCHS.join(', ')}` }).optional(),
  embedDim: count(1, 65536).optional(),
  /** Default: the run's, else what the weights record. */
  dataset: z.enum(DATASET_NAMES, { error: (i) => `unknown dataset '${String(i.input)}'; expected one of ${DATASET_NAMES.join(', ')}` }).optional(),
  dataRoot: z.string().min(1).optional(),
  /**
   * RobRank's protocol (rob28: 28x28 inputs, rob224: 224x224): its nine attacks and pixel budgets,
   * which fix eps, iters, stepSize, randomStart, norm and rankPartners; `attacks` may narrow the list.
   */
  profile: z.enum(PROFILE_NAMES, { error: (i) => `unknown profile '${String(i.input)}'; expected one of ${PROFILE_NAMES.join(', ')}` }).optional(),
  attacks: z.array(z.enum(ATTACK_NAMES, { error: (i) => `unknown attack '${String(i.input)}'; expected some of ${ATTACK_NAMES.join(', ')}` })).min(1).optional(),
  eps: z.array(budget).min(1).optional(),
  iters: count(1, 10_000).optional(),
  /** Step per iteration; default 2.5 eps / iters. */
  stepSize: budget.optional(),
  /** Half-width of the uniform random start: 'eps' or a number in normalised units. */
  randomStart: z.union([z.literal('eps'), z.number().nonnegative().finite()]).optional(),
  norm: z.enum(['linf', 'l2'], { error: 'expected linf or l2' }).optional(),
  mtaxTargets: count(1, 1000).optional(),
  rankPartners: count(1, 1000).optional(),
  /** BN branch to evaluate (0 = clean). */
  branch: count(0, 63).optional(),
  /** A seeded subset of this many queries (the gallery stays the whole test set). */
  limit: count(1).optional(),
  /** The test set: at most this many images per split, as training evaluated (default: the run's limitTest); null: all. */
  limitTest: count(1).nullable().optional(),
  /** Default: the dataset's protocol. Recall@1 is always reported. */
  ks: z.array(count(1)).min(1).optional(),
  imageSize: count(1, 8192).optional(),
  testResize: count(1, 8192).optional(),
  batchSize: count(1, 65536).optional(),
  seed: count(0, 2 ** 32 - 1).optional(),
  device: z.string().regex(/^(cpu|cuda(:\d+)?)$/, "expected 'cpu' or 'cuda[:N]'").optional(),
  threads: count(1, 4096).optional(),
  /** Compute precision of convolutions and matrix products, attacks included (default fp32; fp16: CUDA only). */
  precision: z.enum(PRECISIONS, { error: `expected one of ${PRECISIONS.join(', ')}` }).optional(),
  /** Memory format of the convolutions (default: channels-last for bf16 on a CPU, else contiguous). */
  memoryFormat: z.enum(MEMORY_FORMATS, { error: `expected one of ${MEMORY_FORMATS.join(', ')}` }).optional(),
  /** At most this many attack runs share one PGD pass (1: one at a time); default: 1 on a CPU, on a GPU as many as fit 2^21 input values. */
  conditionsPerPass: count(1, 4096).optional(),
  /** Where eval.json goes; default the run directory (or beside the weights); null writes nothing. */
  out: z.string().min(1).nullable().optional(),
});

export type EvaluateOptionValues = z.infer<typeof evaluateOptionsSchema>;

export const EVALUATE_DEFAULTS = {
  attacks: ['stax', 'mtax', 'untargeted'] as AttackName[],
  eps: ['0.01', '0.03', '0.1'],
  iters: 10,
  randomStart: 'eps' as const,
  norm: 'linf' as const,
  mtaxTargets: 5,
  rankPartners: 1,
  branch: 0,
  batchSize: 64,
  device: 'cpu',
};

/** RobRank's share of the ranking that CA- and QA- draw their partners from. */
export const TOP_FRACTION = 0.01;

/** Checks the options; the error names the first option at fault. */
export function checkEvaluateOptions(options: unknown): EvaluateOptionValues {
  const parsed = evaluateOptionsSchema.safeParse(options);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issue.path.length ? fieldPath(issue.path) : 'options';
  throw new OptionError(path.replace(/\[\d+\]$/, ''), issue.message);
}
