// Miners by name, with typed options.
import type { Distance } from '../distances.js';
import { DistanceWeightedMiner, type DistanceWeightedMinerOptions } from './distance-weighted.js';
import type { Miner } from './miner.js';
import { RandomMiner } from './random.js';
import { SemiHardMiner } from './semi-hard.js';

export type MinerOptions =
  | { name: 'random' }
  | { name: 'semihard'; /** default: the loss's margin */ margin?: number }
  | ({ name: 'distanceweighted' } & DistanceWeightedMinerOptions);

/** A loss takes a miner by options, or any ready Miner (a custom rule, fixed triplets in tests). */
export type MinerChoice = MinerOptions | Miner;

/** What a loss lends its miner: the distance it measures with and its margin. */
export interface MinerContext {
  distance: Distance;
  margin: number;
}

export function createMiner(options: MinerChoice, context: MinerContext): Miner {
  if ('mine' in options) return options;
  switch (options.name) {
    case 'random':
      return new RandomMiner();
    case 'semihard':
      return new SemiHardMiner(context.distance, { margin: options.margin ?? context.margin });
    case 'distanceweighted':
      return new DistanceWeightedMiner(options);
  }
}
