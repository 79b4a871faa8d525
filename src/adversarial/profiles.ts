// RobRank's evaluation profiles: one set of attacks and budgets whose ERS can be set beside the
// tables of Zhou et al. (CVPR 2022). The values come from their robrank/cmdline.py (profile_rob28,
// profile_rob224: eps 0.30196 = 77/255 resp. 0.03137 = 8/255, alpha 0.011764 = 3/255, 32 PGD
// iterations, W = 1 query per CA candidate, M = 1 candidate per QA query) and
// robrank/attacks/advrank.py (no random start; sign steps of alpha; clipped to the eps box around
// the image and to the [0, 1] pixel range). The budgets are pixel fractions: mdprop converts them
// into the normalised units of whatever mean/std the run used (budget.ts), so the box is the same
// set of images as RobRank's on [0, 1] inputs.
import type { AttackName } from './attacks.js';

export const PROFILE_NAMES = ['rob28', 'rob224'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export interface AttackProfile {
  readonly name: ProfileName;
  readonly summary: string;
  /** RobRank's ten ERS components come from these nine attacks. */
  readonly attacks: readonly AttackName[];
  /** L-infinity budget, a pixel fraction. */
  readonly eps: string;
  /** Step per iteration, a pixel fraction. */
  readonly stepSize: string;
  readonly iters: number;
  /** Half-width of the random start (normalised units); RobRank starts at the image itself. */
  readonly randomStart: number;
  readonly norm: 'linf';
  /** W (CA) and M (QA). */
  readonly rankPartners: number;
}

const ERS_ATTACKS: readonly AttackName[] = ['ca+', 'ca-', 'qa+', 'qa-', 'tma', 'es', 'ltm', 'gtm', 'gtt'];

export const PROFILES: Readonly<Record<ProfileName, AttackProfile>> = {
  rob28: { name: 'rob28', summary: '28x28 inputs (MNIST, Fashion-MNIST): eps 77/255', attacks: ERS_ATTACKS, eps: '77/255', stepSize: '3/255', iters: 32, randomStart: 0, norm: 'linf', rankPartners: 1 },
  rob224: { name: 'rob224', summary: '224x224 inputs (CUB, CARS, SOP): eps 8/255', attacks: ERS_ATTACKS, eps: '8/255', stepSize: '3/255', iters: 32, randomStart: 0, norm: 'linf', rankPartners: 1 },
};

export function isProfileName(name: string): name is ProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(name);
}
