// Step decay: the base rate times gamma once every stepSize epochs.
import { checkGamma, checkPositiveInteger, type Schedule } from './schedule.js';

export interface StepLrOptions {
  stepSize: number;
  /** Default 0.1. */
  gamma?: number;
}

export function stepLr({ stepSize, gamma = 0.1 }: StepLrOptions): Schedule {
  checkPositiveInteger(stepSize, 'stepSize', 'stepLr');
  checkGamma(gamma, 'stepLr');
  return { lrAt: (epoch, baseLr) => baseLr * gamma ** Math.floor(epoch / stepSize) };
}
