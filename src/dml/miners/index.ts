export type { Miner, MinerName, Triplets } from './miner.js';
export { positivePairs } from './miner.js';
export { RandomMiner } from './random.js';
export { SemiHardMiner, type SemiHardMinerOptions } from './semi-hard.js';
export { DistanceWeightedMiner, type DistanceWeightedMinerOptions } from './distance-weighted.js';
export { createMiner, type MinerOptions, type MinerChoice, type MinerContext } from './registry.js';
export { checkPairBatch, minePairs, PAIR_MINER_RULES, type PairMinerRule } from './pairs.js';
