// Synchronised batch norm for data-parallel training: every batch norm in training mode normalises
// with the statistics of the rows of all ranks, as one process holding the global batch would
// (each segment of a multi-branch BN on its own: the branch's rows of every rank). Costs one
// all-gather of 2C + 1 numbers per BN call in the forward pass and one all-reduce of 2C numbers in
// the backward pass; the arithmetic and the collectives are in native/sync_batchnorm.cc.
import type { BatchStatsSync } from '../nn/index.js';
import type { Tensor } from '../torch/index.js';
import type { ProcessGroup } from './process-group.js';

export class SyncBatchStats implements BatchStatsSync {
  constructor(private readonly group: ProcessGroup) {}

  batchNorm(x: Tensor, bn: Parameters<BatchStatsSync['batchNorm']>[1]): Tensor {
    if (x.ndim < 2) throw new Error(`synchronised batch norm: expected input [N, C, ...], got [${x.shape.join(', ')}]`);
    return this.group.syncBatchNorm(x, bn.weight, bn.bias, bn.runningMean, bn.runningVar, bn.momentum, bn.eps);
  }
}
