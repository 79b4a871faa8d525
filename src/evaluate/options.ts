// The options of a robustness evaluation: a zod schema (so a library caller's values are checked
// and each error names its option), the defaults, and each option's text. `mdprop eval` derives
// its flags from the schema and the text (--kebab-case of each option).
import { z } from 'zod';
import { ATTACK_NAMES, PROFILE_NAMES, PROFILES, type AttackName } from '../adversarial/index.js';
import { DATASET_NAMES } from '../data/index.js';
import { fieldPath, MODEL_LIMITS, RUN_FILES } from '../formats/index.js';
import { ARCHS, MEMORY_FORMATS, PRECISIONS, type Arch } from '../nn/index.js';
import { COMPUTE_TEXT } from './compute.js';
import { OptionError } from './option-error.js';

export { OptionError };


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
  /** Half-width of the uniform random start: 'eps', 'none' (0) or a number in normalised units. */
  randomStart: z.union([z.literal('eps'), z.literal('none'), z.number().nonnegative().finite()]).optional(),
  norm: z.enum(['linf', 'l2'], { error: 'expected linf or l2' }).optional(),
  mtaxTargets: count(1, 1000).optional(),
  rankPartners: count(1, 1000).optional(),
  /** BN branch to evaluate (0 = clean). */
  branch: count(0, 63).optional(),
  /**
   * Also score every clean and attacked query by the distance between its embeddings through the
   * clean branch and through each auxiliary branch, and report how well that separates attacked
   * from clean queries (AUROC per attack, budget and branch). Needs a model with BN branches.
   */
  detect: z.boolean().optional(),
  /** A seeded subset of this many queries (the gallery stays the whole test set). */
  limit: count(1).optional(),
  /** The test set: at most this many images per split, as training evaluated (default: the run's limitTest); null: all. */
  limitTest: count(1).nullable().optional(),
  /** Default: the dataset's protocol. Recall@1 is always reported. */
  ks: z.array(count(1)).min(1).optional(),
  imageSize: count(1, MODEL_LIMITS.imageSize).optional(),
  testResize: count(1, MODEL_LIMITS.testResize).optional(),
  batchSize: count(1, 65536).optional(),
  seed: count(0, 2 ** 32 - 1).optional(),
  device: z.string().regex(/^(cpu|cuda(:\d+)?)$/, "expected 'cpu' or 'cuda[:N]'").optional(),
  threads: count(1, 4096).optional(),
  /** Compute precision of convolutions and matrix products, attacks included (default fp32; fp16: CUDA only). */
  precision: z.enum(PRECISIONS, { error: `expected one of ${PRECISIONS.join(', ')}` }).optional(),
  /** Memory format of the convolutions (default: channels-last for bf16 on a CPU, else contiguous). */
  memoryFormat: z.enum(MEMORY_FORMATS, { error: `expected one of ${MEMORY_FORMATS.join(', ')}` }).optional(),
  /** At most this many attack conditions share one PGD pass (1: one at a time); default: 1 on a CPU, on a GPU as many as fit 2^21 input values. */
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
};

/** What --detect does, for `mdprop eval --help`. */
export const DETECT_HELP =
  "also score every clean and attacked query by the distance between its embeddings through the clean and each auxiliary BN branch, and report how well that separates attacked from clean queries (AUROC in eval.json's detection[]); needs a model with BN branches";

export interface OptionText {
  /** The flag's argument, as --help shows it. */
  arg: string;
  help: string;
  /** The flag's name where it is not the option's kebab-case name; false: no flag (library only). */
  flag?: string | false;
}

const D = EVALUATE_DEFAULTS;

/** How each option reads on the command line. */
export const EVALUATE_OPTION_TEXT: Record<keyof EvaluateOptionValues, OptionText> = {
  weights: { arg: 'file', help: `model file (torchvision names); default: <run>/${RUN_FILES.model}` },
  arch: { arg: 'name', help: `architecture: ${ARCHS.join(', ')} (default: from the run or the weights)` },
  embedDim: { arg: 'D', help: 'embedding dimension (default: from the run or the weights)' },
  dataset: { arg: 'name', help: `dataset: ${DATASET_NAMES.join(', ')} (default: the run's)` },
  dataRoot: { arg: 'dir', help: "folder the dataset was downloaded to (not for mnist; fashion-mnist: the four official files, default where Debian's dataset-fashion-mnist puts them)" },
  profile: { arg: 'name', help: `RobRank's protocol, fixing attacks and budgets: ${PROFILE_NAMES.map((n) => `${n} (${PROFILES[n].summary})`).join('; ')}` },
  attacks: { arg: 'list', help: `comma-separated: ${ATTACK_NAMES.join(', ')}; or all (default: ${D.attacks.join(',')})` },
  eps: { arg: 'list', help: `budgets: numbers in normalized-input units (0.01) or pixel fractions (4/255) (default: ${D.eps.join(',')})` },
  iters: { arg: 'n', help: `PGD iterations (single-step attacks such as fgsm take one) (default: ${D.iters})` },
  stepSize: { arg: 's', help: 'step per iteration, normalized units or a pixel fraction (default 2.5 eps / iters)' },
  randomStart: { arg: 's', help: "half-width of the uniform random start: 'eps', 'none' or a number in normalized units (default: eps)" },
  norm: { arg: 'name', help: `budget norm: linf or l2 (default: ${D.norm})` },
  mtaxTargets: { arg: 'T', help: `target images of mtax (default: ${D.mtaxTargets})` },
  rankPartners: { arg: 'n', help: `queries per candidate (CA) and candidates per query (QA) (default: ${D.rankPartners})` },
  branch: { arg: 'K', help: `batch-norm branch to evaluate (0 = clean; the same epoch as branch 0) (default: ${D.branch})` },
  limit: { arg: 'N', help: 'a seeded subset of N queries (the gallery stays the whole test set)' },
  limitTest: { arg: 'n|all', help: "the test set: at most n images per split (default: the run's --limit-test, as its training evaluated)" },
  ks: { flag: 'k', arg: 'list', help: "K values of Recall@K (default: the dataset's, e.g. 1,2,4,8; sop 1,10,100,1000)" },
  imageSize: { arg: 'px', help: "side of the test centre crop (default: the run's, else the dataset's: 28 / 224)" },
  testResize: { arg: 'px', help: "shorter side before the crop (default: the run's, else the dataset's: 28 / 256)" },
  batchSize: { arg: 'n', help: `images per attacked batch (default: ${D.batchSize})` },
  seed: { arg: 'n', help: "seed of every random choice (default: the run's, else 0)" },
  device: { arg: 'device', help: COMPUTE_TEXT.device },
  threads: { arg: 'n', help: COMPUTE_TEXT.threads },
  precision: { arg: 'p', help: `${COMPUTE_TEXT.precision}; attacks included` },
  memoryFormat: { arg: 'f', help: COMPUTE_TEXT.memoryFormat },
  conditionsPerPass: { arg: 'n', help: 'attack conditions per joint PGD pass', flag: false },
  out: { arg: 'file', help: `where ${RUN_FILES.eval} goes (default: the run directory, or next to --weights)` },
  // A switch: `mdprop eval` registers --detect itself (schema flags take an argument).
  detect: { arg: '', help: DETECT_HELP, flag: false },
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
