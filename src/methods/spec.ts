// Methods as data: a list of extra data distributions, each made from part of the clean batch by a
// feature-space attack and normalised by its own BN branch. Baseline, AdvProp-D and MDProp are
// presets of this list; users can write their own (e.g. four branches with an unadversarial one).
// A method may instead name a defense (EST, ACT, HM: src/methods/defenses.ts), which trains on its
// own adversarial examples alone; the presets est, act and hm are those with RobRank's settings.
import { z } from 'zod';
import { DEFENSE_DEFAULTS, DEFENSE_KINDS, defenseSpecSchema, inputAmountSchema, type DefenseKind } from './defenses.js';

/**
 * How a distribution's examples are made from its slice of the batch:
 * - targeted: towards T in-batch target embeddings (T = 1: single-targeted, STAX; T > 1: MTAX);
 * - untargeted: away from each sample's own clean embedding;
 * - unadversarial: towards the embedding of another sample of the same class (helpful examples).
 */
export const DISTRIBUTION_KINDS = ['targeted', 'untargeted', 'unadversarial'] as const;
export type DistributionKind = (typeof DISTRIBUTION_KINDS)[number];

const count = z.number().int().nonnegative().max(1024);

export const distributionSpecSchema = z.strictObject({
  kind: z.enum(DISTRIBUTION_KINDS),
  /** Target sets T (targeted only): 1 for STAX, 5 for the paper's MTAX. */
  targets: count.min(1, 'must be a positive integer'),
  /** L-infinity budget in normalized-input units (the authors' 0.01), or one per channel. */
  eps: inputAmountSchema,
  /** PGD iterations (the authors' 1); the step is eps / iters. */
  iters: count,
  /** The slice of the batch it perturbs, as fractions [from, to) of the batch size. */
  part: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]).readonly(),
  /** The BN branch that normalises it during training (1..branches-1). */
  branch: count.min(1),
});

/**
 * A method written as data: its shape, and the rules across its fields (branches in range, parts
 * inside the batch, a defense alone). The one check of every method, presets excepted (they are
 * built from checked settings); an error names the method and the field.
 */
export const methodSpecSchema = z
  .strictObject({
    name: z.string().min(1).max(100),
    /** BN branches: 1 + one per distinct auxiliary distribution branch. */
    branches: count.min(1).max(64),
    distributions: z.array(distributionSpecSchema).max(63).readonly(),
    /** Adversarial training by a defense instead of extra distributions (distributions then empty). */
    defense: defenseSpecSchema.optional(),
  })
  .superRefine((spec, ctx) => {
    const fail = (message: string) => ctx.addIssue({ code: 'custom', message: `method '${spec.name}': ${message}` });
    if (spec.defense !== undefined) {
      if (spec.distributions.length > 0) fail('a defense trains on its own adversarial examples; give distributions: [] with it');
      if (spec.defense.margin === 0 && spec.defense.gradual) fail('defense.margin must be > 0 for the gradual adversary');
    }
    spec.distributions.forEach((d, i) => {
      const [from, to] = d.part;
      if (!(from < to)) fail(`distributions[${i}].part must satisfy 0 <= from < to <= 1`);
      if (d.branch >= spec.branches) fail(`distributions[${i}].branch must be an auxiliary branch 1..${spec.branches - 1}`);
    });
  });

export type DistributionSpec = z.infer<typeof distributionSpecSchema>;
export type MethodSpec = z.infer<typeof methodSpecSchema>;

export const METHOD_NAMES = ['baseline', 'advprop-d', 'mdprop', ...DEFENSE_KINDS] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

export function isMethodName(name: string): name is MethodName {
  return (METHOD_NAMES as readonly string[]).includes(name);
}

/** An amount in normalised-input units: one number, or one per channel. */
export type InputAmount = number | readonly number[];

export interface AttackSettings {
  /** Default 0.01. */
  eps?: InputAmount;
  /** Default 1. */
  iters?: number;
  /** MTAX target sets, default 5. */
  mtaxTargets?: number;
  /** Defenses' PGD step; default eps / iters. */
  step?: InputAmount | null;
}

function defensePreset(kind: DefenseKind, eps: InputAmount, iters: number, step: InputAmount | null): MethodSpec {
  return { name: kind, branches: 1, distributions: [], defense: { kind, eps, iters, step, ...DEFENSE_DEFAULTS } };
}

/** The presets, with the authors' defaults unless overridden (the defenses take eps, iters and step as given). */
export function presetMethod(name: MethodName, settings: AttackSettings = {}): MethodSpec {
  const eps = settings.eps ?? 0.01;
  const iters = settings.iters ?? 1;
  const mtaxTargets = settings.mtaxTargets ?? 5;
  switch (name) {
    case 'baseline':
      return { name, branches: 1, distributions: [] };
    case 'advprop-d':
      return { name, branches: 2, distributions: [{ kind: 'targeted', targets: 1, eps, iters, part: [0, 1], branch: 1 }] };
    case 'mdprop':
      return {
        name,
        branches: 3,
        distributions: [
          { kind: 'targeted', targets: 1, eps, iters, part: [0, 0.5], branch: 1 },
          { kind: 'targeted', targets: mtaxTargets, eps, iters, part: [0.5, 1], branch: 2 },
        ],
      };
    case 'est':
    case 'act':
    case 'hm':
      return defensePreset(name, eps, iters, settings.step ?? null);
  }
}

/** Checks a method built in code; the error names the method and the field at fault (see methodSpecSchema). */
export function validateMethod(spec: MethodSpec): MethodSpec {
  const parsed = methodSpecSchema.safeParse(spec);
  if (parsed.success) return spec;
  const issue = parsed.error.issues[0]!;
  // Rules across fields carry their own wording; a field of the wrong shape is named by its path.
  if (issue.path.length === 0) throw new Error(issue.message);
  const path = issue.path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('').replace(/^\./, '');
  throw new Error(`method '${typeof spec.name === 'string' ? spec.name : '?'}': ${path} ${issue.message}`);
}

/**
 * The batch row where a fraction of the batch falls. One rule for both ends of every part, so
 * adjacent parts [a, b) and [b, c) meet at the same row and together tile the batch. Interior
 * fractions keep at least one row on either side, so a part that starts at 0 or ends at 1 is never
 * rounded away.
 */
function boundaryRow(fraction: number, size: number): number {
  if (fraction <= 0) return 0;
  if (fraction >= 1) return size;
  const row = Math.round(fraction * size);
  return size >= 2 ? Math.min(size - 1, Math.max(1, row)) : row;
}

/**
 * The rows [start, end) of a batch of `size` that a part covers. Parts that share an end share
 * its row, so they neither overlap nor leave a gap. A part too thin for the batch to give it a
 * row of its own still gets one row (it then overlaps a neighbour): a distribution is never empty.
 */
export function partRows(part: readonly [number, number], size: number): [number, number] {
  const start = boundaryRow(part[0], size);
  const end = boundaryRow(part[1], size);
  if (end > start) return [start, end];
  const first = Math.min(start, size - 1);
  return [first, first + 1];
}
