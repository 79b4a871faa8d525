// The untargeted objective at test time (untargeted, fgsm, es): push each query away from its own
// clean embedding. It reports the retrieval metrics and the embedding shift only.
import * as T from '../torch/index.js';
import { noGrad, type Tensor } from '../torch/index.js';
import type { PreparedAttack, QueryBatch } from './attack.js';

export function prepareUntargeted(batch: QueryBatch): PreparedAttack {
  return { goal: { kind: 'untargeted', clean: offsetReference(batch.clean) }, measure: () => ({}) };
}

/**
 * ES as RobRank's code runs it: its attack has no random start, and ||f(x) - e|| has no gradient
 * at x itself, so the reference is e + 1e-7 in every coordinate in the first iteration and e after
 * (advrank.py); its distance, torch's pairwise_distance, adds 1e-6 to every difference.
 */
export function prepareEmbeddingShift(batch: QueryBatch): PreparedAttack {
  return { goal: { kind: 'untargeted', clean: batch.clean, firstOffset: 1e-7, differenceOffset: 1e-6 }, measure: () => ({}) };
}

/**
 * mdprop's own untargeted attack (and FGSM): the objective ||f(x) - e|| has a zero gradient at the
 * clean input, so a step without a random start would not move. The reference embedding is offset
 * by a tiny seeded noise in every iteration, which gives the first step a direction and moves the
 * objective by about 1e-4 against shifts of order 0.1-1.
 */
function offsetReference(clean: Tensor): Tensor {
  return noGrad(() => clean.add(T.uniform([...clean.shape], -1e-4, 1e-4, { device: clean.device })));
}
