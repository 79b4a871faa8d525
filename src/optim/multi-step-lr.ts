// Multi-step decay: the base rate times gamma for every milestone reached (a milestone listed
// twice counts twice, as in PyTorch).
import { checkGamma, type Schedule } from './schedule.js';

export interface MultiStepLrOptions {
  /** Epochs at which the rate drops. */
  milestones: readonly number[];
  /** Default 0.1. */
  gamma?: number;
}

export function multiStepLr({ milestones, gamma = 0.1 }: MultiStepLrOptions): Schedule {
  if (!Array.isArray(milestones) || milestones.some((m) => !Number.isInteger(m) || m < 0)) {
    throw new RangeError(`multiStepLr: milestones must be non-negative integers, got ${JSON.stringify(milestones)}`);
  }
  checkGamma(gamma, 'multiStepLr');
  const sorted = [...milestones];
  return { lrAt: (epoch, baseLr) => baseLr * gamma ** sorted.filter((m) => m <= epoch).length };
}
