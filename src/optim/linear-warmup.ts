// Linear warm-up before another schedule: for epochs 0..epochs-1 the rate climbs linearly from
// startFactor * base towards base; from then on the inner schedule runs with its epochs counted
// from the end of the warm-up (PyTorch's LinearLR followed by the inner one in a SequentialLR).
import { checkPositiveInteger, type Schedule } from './schedule.js';

export interface LinearWarmupOptions {
  /** Warm-up length in epochs. */
  epochs: number;
  /** Fraction of the base rate at epoch 0, in (0, 1]. Default 0.1. */
  startFactor?: number;
  /** The schedule after the warm-up; default: the base rate, constant. */
  then?: Schedule;
}

export function linearWarmup({ epochs, startFactor = 0.1, then }: LinearWarmupOptions): Schedule {
  checkPositiveInteger(epochs, 'epochs', 'linearWarmup');
  if (typeof startFactor !== 'number' || !(startFactor > 0 && startFactor <= 1)) {
    throw new RangeError(`linearWarmup: startFactor must be in (0, 1], got ${String(startFactor)}`);
  }
  return {
    lrAt: (epoch, baseLr) => {
      if (epoch < epochs) return baseLr * (startFactor + ((1 - startFactor) * epoch) / epochs);
      return then ? then.lrAt(epoch - epochs, baseLr) : baseLr;
    },
  };
}
