// The untargeted objective at test time (untargeted, fgsm, es): push each query away from its own
// clean embedding. It reports the retrieval metrics and the embedding shift only.
import * as T from '../torch/index.js';
import { noGrad, type Tensor } from '../torch/index.js';
import type { PreparedAttack, QueryBatch } from './attack.js';

export function prepareUntargeted(batch: QueryBatch): PreparedAttack {
  return { goal: { kind: 'untargeted', clean: offsetReference(batch.clean) }, measure: () => ({}) };
}

/**
 * The untargeted objective ||f(x) - e|| has a zero gradient at the clean input itself, so a step
 * without a random start (FGSM) would not move. As RobRank does for ES, the reference embedding is
 * offset by a tiny seeded noise, which gives the first step a direction and changes nothing else.
 */
function offsetReference(clean: Tensor): Tensor {
  return noGrad(() => clean.add(T.uniform([...clean.shape], -1e-4, 1e-4, { device: clean.device })));
}
