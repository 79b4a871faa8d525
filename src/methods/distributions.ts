// Making one auxiliary distribution's examples from its slice of the clean batch, with the model
// in eval mode and routed to the distribution's BN branch (DESIGN.md, "The method", step 1).
import { featurePgd, permutedTargets, type AttackGoal } from '../adversarial/pgd.js';
import { setBnRouting, type EmbeddingModel } from '../nn/index.js';
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
