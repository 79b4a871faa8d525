// Adversarial-training defenses of deep metric learning, after RobRank (Zhou et al.): each step
// makes adversarial images with the model in eval mode, then trains on them alone (no clean loss,
// no BN branches). Facts from the papers and RobRank's code; the words and code are this project's.
//
// - EST, embedding-shifted triplet (Zhou et al., "Adversarial Ranking Attack and Defense",
//   ECCV 2020): every image is pushed, within an L-infinity box, as far as it will go from its own
//   clean embedding (maximise ||f(x') - f(x)||); the run's loss is then computed on f(x') with the
//   clean labels.
// - ACT, anti-collapse triplet (Zhou et al., "Adversarial Attack and Defense in Deep Ranking",
//   arXiv 2106.03614): one triplet per same-class pair of the batch (random negative); the positive
//   and negative images are perturbed together to pull their embeddings onto each other
//   (minimise mean ||f(p') - f(n')||), i.e. to collapse the triplet; the model then learns the
//   triplet loss max(0, d(a,p') - d(a,n') + margin) with the clean anchor, so it must keep the
//   collapsed pair apart.
// - HM, hardness manipulation (Zhou et al., "Enhancing Adversarial Robustness for Deep Metric
//   Learning", CVPR 2022; RobRank's default `ghmetsmi`): source triplets from the soft-hard pair
//   miner; all three images of each are perturbed until the triplet's hardness
//   H = d(a,p) - d(a,n) reaches a destination: minimise mean(min(0, H(x') - H_dest)^2), so only
//   triplets easier than the destination move. Gradual adversary: H_dest = -margin * min(max(L, 0),
//   margin) / margin with L the previous step's adversarial triplet loss (2.0 before the first
//   step): easy at first when the loss is high, semi-hard (H = 0) once the model copes. Without it,
//   H_dest is each semi-hard-mined destination triplet's clean hardness. Loss: the triplet loss of
//   the perturbed triplets plus `intraClass` (0.5) times the intra-class structure term
//   max(0, d(a, a') - d(a, p)), which keeps a perturbed anchor nearer its clean self than its positive.
// ACT and HM bring their own triplet loss (plain Euclidean on the unit sphere, as RobRank's
// ptripletN); EST uses the run's loss. Attacks take sign steps of `step` (eps / iters by default),
// clipped to the box and to the batch's pixel range, and start from the clean images (EST: with
// the usual tiny random start, so the first gradient is not zero). HM runs all its iterations
// (RobRank stops early once its objective stops changing; the sign steps then go on moving only
// the triplets still short of their destination).
import { z } from 'zod';
import { featurePgd } from '../adversarial/pgd.js';
import { minePairs, tripletMarginMean } from '../dml/index.js';
import type { EmbeddingModel } from '../nn/index.js';
import * as T from '../torch/index.js';
import { noGrad, tidy, type Tensor } from '../torch/index.js';

export const DEFENSE_KINDS = ['est', 'act', 'hm'] as const;
export type DefenseKind = (typeof DEFENSE_KINDS)[number];

/** An amount in normalised-input units: one number, or one per input channel (a pixel budget divided by each channel's std). */
export const inputAmountSchema = z.union([z.number().nonnegative().finite(), z.array(z.number().nonnegative().finite()).min(1).readonly()], {
  error: 'must be a number >= 0, or one per channel',
});

/** A defense (EST, ACT, HM) in place of extra distributions. */
export const defenseSpecSchema = z.strictObject({
  kind: z.enum(DEFENSE_KINDS),
  /** L-infinity budget in input units (RobRank's Fashion-MNIST: 77/255 of pixels in [0, 1]). */
  eps: inputAmountSchema,
  /** PGD iterations (RobRank: 32). */
  iters: z.number().int().nonnegative().max(1024),
  /** Sign-step size; null: eps / iters (RobRank: 3/255, or eps itself for one iteration). */
  step: z.union([z.number().positive('must be > 0 or null').finite(), z.array(z.number().positive('must be > 0 or null').finite()).min(1).readonly()]).nullable(),
  /** Triplet margin of ACT's and HM's own loss and HM's gradual adversary (RobRank: 0.2). */
  margin: z.number().nonnegative().finite(),
  /** HM: the gradual adversary (RobRank's default: on). */
  gradual: z.boolean(),
  /** HM: weight of the intra-class structure term; 0 leaves it out (RobRank's default: 0.5). */
  intraClass: z.number().nonnegative().finite(),
});

export type DefenseSpec = z.infer<typeof defenseSpecSchema>;

/** What a defense keeps from one step to the next (HM's gradual adversary reads the last loss). */
export interface DefenseMemory {
  previousLoss: number;
}

/** Before any step: RobRank's starting value, which makes the first destination the easiest. */
export function freshDefenseMemory(): DefenseMemory {
  return { previousLoss: 2.0 };
}

export const DEFENSE_DEFAULTS = { margin: 0.2, gradual: true, intraClass: 0.5 } as const;

/** What the defense step needs of a loss: the run's criterion (EST trains with it). */
export interface DefenseCriterion {
  compute(embeddings: Tensor, labels: Tensor, context?: { features?: Tensor }): Tensor;
}

function rows(x: Tensor, index: Tensor): Tensor {
  return x.indexSelect(0, index);
}

function pgdOptions(spec: DefenseSpec, randomStart: number) {
  return { eps: spec.eps, iters: spec.iters, ...(spec.step === null ? {} : { stepSize: spec.step }), randomStart };
}

/** EST's adversarial images: each as far from its own clean embedding as the box allows. */
export function embeddingShift(model: EmbeddingModel, spec: DefenseSpec, images: Tensor): Tensor {
  return tidy(() => {
    const embed = (x: Tensor) => model.forward(x);
    const clean = noGrad(() => embed(images));
    return featurePgd(embed, images, { kind: 'untargeted', clean }, pgdOptions(spec, 5e-4));
  });
}

/** ACT's adversarial images: positives and negatives [2T, ...] perturbed towards each other. */
export function collapsePairs(model: EmbeddingModel, spec: DefenseSpec, positives: Tensor, negatives: Tensor): Tensor {
  return tidy(() => {
    const count = positives.shape[0]!;
    const gap = (e: Tensor) => e.narrow(0, 0, count).sub(e.narrow(0, count, count)).norm(2, 1).mean();
    return featurePgd((x) => model.forward(x), T.cat([positives, negatives]), { kind: 'objective', loss: gap, direction: 'minimise' }, pgdOptions(spec, 0));
  });
}

/** Hardness d(a,p) - d(a,n) of each row of an [3T, D] stack of anchors, positives, negatives. */
export function tripletHardness(stacked: Tensor): Tensor {
  return tidy(() => {
    const t = stacked.shape[0]! / 3;
    const [a, p, n] = [0, 1, 2].map((k) => stacked.narrow(0, k * t, t));
    return a!.sub(p!).norm(2, 1).sub(a!.sub(n!).norm(2, 1));
  });
}

/** HM's destination hardness: the gradual adversary's one value, or each destination triplet's. */
export function destinationHardness(spec: DefenseSpec, memory: DefenseMemory, clean: Tensor, labels: Tensor, distances: Tensor): Tensor | number {
  if (spec.gradual) return -spec.margin * (Math.min(Math.max(memory.previousLoss, 0), spec.margin) / spec.margin);
  return tidy(() => {
    const d = minePairs('semihard', labels, distances, spec.margin);
    return tripletHardness(T.cat([rows(clean, d.anchors), rows(clean, d.positives), rows(clean, d.negatives)]));
  });
}

/** HM's adversarial images: the stacked triplet images [3T, ...] made as hard as the destination. */
export function manipulateHardness(model: EmbeddingModel, spec: DefenseSpec, stacked: Tensor, destination: Tensor | number): Tensor {
  return tidy(() => {
    const shortfall = (e: Tensor) => tripletHardness(e).sub(destination).clampMax(0).square().mean();
    return featurePgd((x) => model.forward(x), stacked, { kind: 'objective', loss: shortfall, direction: 'minimise' }, pgdOptions(spec, 0));
  });
}

/**
 * The defense's training loss for one batch (model left in train mode, graph attached). Batches
 * must be same-class pairs for ACT and HM (samples per class 2).
 */
export function defenseLoss(model: EmbeddingModel, spec: DefenseSpec, criterion: DefenseCriterion, images: Tensor, labels: Tensor, memory: DefenseMemory): Tensor {
  return tidy(() => {
    model.eval();
    if (spec.kind === 'est') {
      const adversarial = embeddingShift(model, spec, images);
      model.train();
      const out = model.forwardAll(adversarial);
      return criterion.compute(out.embedding, labels, { features: out.features });
    }
    if (spec.kind === 'act') {
      const t = minePairs('random', labels, null);
      const moved = collapsePairs(model, spec, rows(images, t.positives), rows(images, t.negatives));
      model.train();
      const pn = model.forward(moved);
      const count = t.anchors.shape[0]!;
      return tripletMarginMean(model.forward(rows(images, t.anchors)), pn.narrow(0, 0, count), pn.narrow(0, count, count), spec.margin);
    }
    const clean = noGrad(() => model.forward(images));
    const distances = noGrad(() => T.F.pairwiseDistances(clean, clean));
    const source = minePairs('softhard', labels, distances, spec.margin);
    const destination = destinationHardness(spec, memory, clean, labels, distances);
    const stacked = T.cat([rows(images, source.anchors), rows(images, source.positives), rows(images, source.negatives)]);
    const moved = manipulateHardness(model, spec, stacked, destination);
    model.train();
    const e = model.forward(moved);
    const count = source.anchors.shape[0]!;
    const [ea, ep, en] = [0, 1, 2].map((k) => e.narrow(0, k * count, count)) as [Tensor, Tensor, Tensor];
    const adversarial = tripletMarginMean(ea, ep, en, spec.margin);
    memory.previousLoss = adversarial.item();
    if (spec.intraClass === 0) return adversarial;
    const ap = model.forward(T.cat([rows(images, source.anchors), rows(images, source.positives)]));
    const structure = tripletMarginMean(ap.narrow(0, 0, count), ea, ap.narrow(0, count, count), 0);
    return adversarial.add(structure.mul(spec.intraClass));
  });
}
