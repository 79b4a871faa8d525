// Making one auxiliary distribution's examples from its slice of the clean batch, with the model
// in eval mode and routed to the distribution's BN branch (README.md, "The method", step 1).
import { featurePgd, featurePgdJoint, permutedTargets, withRandomStart, type AttackGoal, type PgdCondition } from '../adversarial/pgd.js';
import { setBnRouting, type BnSegment, type EmbeddingModel } from '../nn/index.js';
import * as T from '../torch/index.js';
import { noGrad, tidy, type Tensor } from '../torch/index.js';
import type { DistributionSpec } from './spec.js';

/**
 * For each row, the index of another row with the same label, chosen by a seeded permutation (the
 * row itself when it has no same-class partner in the slice).
 */
export function sameClassPartners(labels: readonly number[]): number[] {
  const order = T.tidy(() => T.randperm(labels.length).toNumbers());
  return labels.map((label, i) => order.find((j) => j !== i && labels[j] === label) ?? i);
}

/**
 * Random draws of one distribution given instead of taken from libtorch's generator, so a step
 * computed elsewhere (a PyTorch reference) can be replayed exactly. Either may be left out.
 */
export interface DistributionDraws {
  /** Targeted kinds: one row order of the slice per target set. */
  permutations?: readonly (readonly number[])[];
  /** The attack's random start, shaped like the slice. */
  startNoise?: Tensor;
}

function goalFor(spec: DistributionSpec, clean: Tensor, labels: Tensor, draws: DistributionDraws): AttackGoal {
  switch (spec.kind) {
    case 'targeted':
      return { kind: 'targeted', targets: permutedTargets(clean, spec.targets, draws.permutations) };
    case 'untargeted':
      return { kind: 'untargeted', clean };
    case 'unadversarial': {
      const partners = sameClassPartners(labels.toNumbers());
      return { kind: 'targeted', targets: [clean.indexSelect(0, T.tensor(partners, [partners.length], { dtype: 'int64', device: clean.device }))] };
    }
  }
}

/**
 * Perturbed copies of `images` for one distribution. The caller puts the model in eval mode; the
 * routing is left on the distribution's branch.
 */
export function makeDistribution(model: EmbeddingModel, spec: DistributionSpec, images: Tensor, labels: Tensor, draws: DistributionDraws = {}): Tensor {
  return tidy(() => {
    setBnRouting(model, { kind: 'branch', branch: spec.branch });
    const embed = (x: Tensor) => model.forward(x);
    const clean = noGrad(() => embed(images));
    const goal = noGrad(() => goalFor(spec, clean, labels, draws));
    return featurePgd(embed, images, goal, { eps: spec.eps, iters: spec.iters, startNoise: draws.startNoise });
  });
}

/** One distribution to make: its spec and its slice of the batch. */
export interface DistributionJob {
  spec: DistributionSpec;
  images: Tensor;
  labels: Tensor;
  draws?: DistributionDraws;
}

/**
 * The perturbed copies of several distributions at once (the model in eval mode): one forward for
 * every slice's clean embeddings, then one forward and backward per PGD iteration for all slices
 * together, each slice routed through its own BN branch. Each slice gets the gradient of its own
 * objective only, and the random draws come in the order separate calls make them (targets, then
 * start, distribution by distribution), so the result equals makeDistribution's, slice by slice.
 * Distributions with different iteration counts run in separate joint passes.
 */
export function makeDistributions(model: EmbeddingModel, jobs: readonly DistributionJob[]): Tensor[] {
  if (jobs.length === 0) return [];
  return tidy(() => {
    const segments: BnSegment[] = jobs.map((j) => ({ size: j.images.shape[0]!, branch: j.spec.branch }));
    const route = (which: readonly number[]) =>
      setBnRouting(model, which.length === 1 ? { kind: 'branch', branch: segments[which[0]!]!.branch } : { kind: 'segments', segments: which.map((k) => segments[k]!) });
    const all = jobs.map((_, k) => k);
    route(all);
    const cleanAll = noGrad(() => model.forward(jobs.length === 1 ? jobs[0]!.images : T.cat(jobs.map((j) => j.images))));
    const clean = jobs.length === 1 ? [cleanAll] : cleanAll.split(segments.map((s) => s.size), 0);
    const conditions: PgdCondition[] = jobs.map((j, k) => {
      const draws = j.draws ?? {};
      const goal = noGrad(() => goalFor(j.spec, clean[k]!, j.labels, draws));
      return { images: j.images, goal, options: withRandomStart(j.images, { eps: j.spec.eps, iters: j.spec.iters, startNoise: draws.startNoise }) };
    });
    const out: Tensor[] = new Array<Tensor>(jobs.length);
    for (const iters of new Set(jobs.map((j) => j.spec.iters))) {
      const which = all.filter((k) => jobs[k]!.spec.iters === iters);
      route(which);
      const adv = featurePgdJoint((x) => model.forward(x), which.map((k) => conditions[k]!));
      which.forEach((k, i) => (out[k] = adv[i]!));
    }
    return out;
  });
}
