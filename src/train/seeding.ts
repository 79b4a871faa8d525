// Seeding without saved generator state. libtorch's global generator cannot be saved and restored,
// so it is re-seeded before every training step from (seed, epoch, step), and the data layer draws
// its randomness from (seed, epoch, ...) streams too: a run resumed at any step continues with
// exactly the random numbers the uninterrupted run would have used.
import { Random } from '../data/index.js';

/**
 * The libtorch seed of one training step (epoch counted from 1, step within the epoch from 0).
 * Each rank of a data-parallel run draws its own attacks; rank 0 draws what a lone process would.
 */
export function stepSeed(seed: number, epoch: number, step: number, rank = 0): number {
  return (rank === 0 ? new Random(seed, 'torch-step', epoch, step) : new Random(seed, 'torch-step', epoch, step, rank)).nextUint32();
}
