// Cosine annealing (SGDR without restarts), in closed form:
//   lr = etaMin + (base - etaMin) * (1 + cos(pi * epoch / tMax)) / 2
// It reaches etaMin at epoch tMax and, like PyTorch's, rises again after it.
import { checkPositiveInteger, type Schedule } from './schedule.js';

export interface CosineAnnealingOptions {
  /** Epochs from the base rate down to etaMin. */
  tMax: number;
  /** Default 0. */
  etaMin?: number;
}

export function cosineAnnealing({ tMax, etaMin = 0 }: CosineAnnealingOptions): Schedule {
  checkPositiveInteger(tMax, 'tMax', 'cosineAnnealing');
  if (typeof etaMin !== 'number' || !Number.isFinite(etaMin) || etaMin < 0) {
    throw new RangeError(`cosineAnnealing: etaMin must be a finite number >= 0, got ${String(etaMin)}`);
  }
  return { lrAt: (epoch, baseLr) => etaMin + ((baseLr - etaMin) * (1 + Math.cos((Math.PI * epoch) / tMax))) / 2 };
}
