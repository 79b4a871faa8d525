// Methods as data: a list of extra data distributions, each made from part of the clean batch by a
// feature-space attack and normalised by its own BN branch. Baseline, AdvProp-D and MDProp are
// presets of this list; users can write their own (e.g. four branches with an unadversarial one).
// A method may instead name a defense (EST, ACT, HM: src/methods/defenses.ts), which trains on its
// own adversarial examples alone; the presets est, act and hm are those with RobRank's settings.
import { DEFENSE_DEFAULTS, DEFENSE_KINDS, type DefenseKind, type DefenseSpec } from './defenses.js';

/**
 * How a distribution's examples are made from its slice of the batch:
 * - targeted: towards T in-batch target embeddings (T = 1: single-targeted, STAX; T > 1: MTAX);
 * - untargeted: away from each sample's own clean embedding;
 * - unadversarial: towards the embedding of another sample of the same class (helpful examples).
 */
export const DISTRIBUTION_KINDS = ['targeted', 'untargeted', 'unadversarial'] as const;
export type DistributionKind = (typeof DISTRIBUTION_KINDS)[number];

export interface DistributionSpec {
  kind: DistributionKind;
  /** Target sets T (targeted only): 1 for STAX, 5 for the paper's MTAX. */
  targets: number;
  /** L-infinity budget in normalized-input units (the authors' 0.01). */
  eps: number;
  /** PGD iterations (the authors' 1); the step is eps / iters. */
  iters: number;
  /** The slice of the batch it perturbs, as fractions [from, to) of the batch size. */
  part: readonly [number, number];
  /** The BN branch that normalises it during training (1..branches-1). */
  branch: number;
}

export interface MethodSpec {
  name: string;
  /** BN branches: 1 + one per distinct auxiliary distribution branch. */
  branches: number;
  distributions: readonly DistributionSpec[];
  /** Adversarial training by a defense instead of extra distributions (distributions then empty). */
  defense?: DefenseSpec;
}

export const METHOD_NAMES = ['baseline', 'advprop-d', 'mdprop', ...DEFENSE_KINDS] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

export function isMethodName(name: string): name is MethodName {
  return (METHOD_NAMES as readonly string[]).includes(name);
}

export interface AttackSettings {
  /** Default 0.01. */
  eps?: number;
  /** Default 1. */
  iters?: number;
  /** MTAX target sets, default 5. */
  mtaxTargets?: number;
  /** Defenses' PGD step; default eps / iters. */
  step?: number | null;
}

function defensePreset(kind: DefenseKind, eps: number, iters: number, step: number | null): MethodSpec {
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

/** Checks a (possibly user-written) method; the error names the offending entry and field. */
export function validateMethod(spec: MethodSpec): MethodSpec {
  const where = (i: number, field: string) => `method '${spec.name}': distributions[${i}].${field}`;
  if (!Number.isInteger(spec.branches) || spec.branches < 1) throw new Error(`method '${spec.name}': branches must be a positive integer`);
  const defense = spec.defense;
  if (defense !== undefined) {
    const at = (field: string) => `method '${spec.name}': defense.${field}`;
    if (!DEFENSE_KINDS.includes(defense.kind)) throw new Error(`${at('kind')} must be one of ${DEFENSE_KINDS.join(', ')}`);
    if (spec.distributions.length > 0) throw new Error(`method '${spec.name}': a defense trains on its own adversarial examples; give distributions: [] with it`);
    if (!(defense.eps >= 0)) throw new Error(`${at('eps')} must be >= 0`);
    if (!Number.isInteger(defense.iters) || defense.iters < 0) throw new Error(`${at('iters')} must be a non-negative integer`);
    if (defense.step !== null && !(defense.step > 0)) throw new Error(`${at('step')} must be > 0 or null`);
    if (!(defense.margin >= 0)) throw new Error(`${at('margin')} must be >= 0`);
    if (defense.margin === 0 && defense.gradual) throw new Error(`${at('margin')} must be > 0 for the gradual adversary`);
    if (!(defense.intraClass >= 0)) throw new Error(`${at('intraClass')} must be >= 0`);
  }
  spec.distributions.forEach((d, i) => {
    if (!DISTRIBUTION_KINDS.includes(d.kind)) throw new Error(`${where(i, 'kind')} must be targeted, untargeted or unadversarial`);
    if (d.kind === 'targeted' && (!Number.isInteger(d.targets) || d.targets < 1)) throw new Error(`${where(i, 'targets')} must be a positive integer`);
    if (!(d.eps >= 0)) throw new Error(`${where(i, 'eps')} must be >= 0`);
    if (!Number.isInteger(d.iters) || d.iters < 0) throw new Error(`${where(i, 'iters')} must be a non-negative integer`);
    const [from, to] = d.part;
    if (!(from >= 0 && to <= 1 && from < to)) throw new Error(`${where(i, 'part')} must satisfy 0 <= from < to <= 1`);
    if (!Number.isInteger(d.branch) || d.branch < 1 || d.branch >= spec.branches) {
      throw new Error(`${where(i, 'branch')} must be an auxiliary branch 1..${spec.branches - 1}`);
    }
  });
  return spec;
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
