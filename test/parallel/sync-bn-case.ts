// One float64 case for synchronised batch norm: a global batch of 9 rows in two segments (5 rows
// for branch 0, 4 for branch 1) of a two-branch BN with non-trivial scales, shifts and running
// statistics, and a fixed upstream gradient. Every rank builds the same case from the same seed.
import { BatchNorm2d, MultiBatchNorm2d, type BnSegment } from '../../src/nn/index.js';
import { shardOf } from '../../src/parallel/index.js';
import { manualSeed, noGrad, randn, tensor, type Tensor } from '../../src/torch/index.js';

export const CHANNELS = 3;
export const SEGMENTS: readonly BnSegment[] = [
  { size: 5, branch: 0 },
  { size: 4, branch: 1 },
];

export interface SyncBnCase {
  bn: MultiBatchNorm2d;
  /** Input [9, C, 3, 2] and the gradient of the loss with respect to the output, same shape. */
  x: Tensor;
  dy: Tensor;
}

export function buildCase(): SyncBnCase {
  manualSeed(42);
  const bn = new MultiBatchNorm2d(new BatchNorm2d(CHANNELS, { momentum: 0.3 }), 2).to('float64');
  noGrad(() => {
    for (const [, t] of [...bn.namedParameters(), ...bn.namedBuffers()]) {
      if (t.dtype !== 'float64') continue;
      t.copy_(randn([...t.shape], { dtype: 'float64' }).mul(0.5).add(1));
    }
  });
  // Channels with different means and spreads, so the statistics matter.
  const x = randn([9, CHANNELS, 3, 2], { dtype: 'float64' }).mul(tensor([0.5, 2, 3], [1, CHANNELS, 1, 1], { dtype: 'float64' })).add(tensor([1, -2, 0.3], [1, CHANNELS, 1, 1], { dtype: 'float64' }));
  const dy = randn([9, CHANNELS, 3, 2], { dtype: 'float64' });
  return { bn, x, dy };
}

/** The global rows of `rank`: its share of each segment, in batch order, and its local segments. */
export function rowsOf(rank: number, world: number): { rows: number[]; segments: BnSegment[] } {
  const rows: number[] = [];
  const segments: BnSegment[] = [];
  let offset = 0;
  for (const s of SEGMENTS) {
    const { start, count } = shardOf(s.size, rank, world);
    for (let i = 0; i < count; i++) rows.push(offset + start + i);
    segments.push({ size: count, branch: s.branch });
    offset += s.size;
  }
  return { rows, segments };
}
