// Batch normalisation over the channels of [N, C, H, W] input, with torchvision's names: weight,
// bias, running_mean, running_var, num_batches_tracked.
import { F, isReducedFloat, noGrad, ones, tidy, zeros, type Tensor } from '../torch/index.js';
import { constant_ } from './init.js';
import { Module } from './module.js';

export interface BatchNormOptions {
  eps?: number;
  /** Weight of the newest batch in the running statistics (PyTorch's default 0.1). */
  momentum?: number;
  /** Learn a per-channel scale and shift (default true). */
  affine?: boolean;
  /** Keep running statistics for eval mode (default true). */
  trackRunningStats?: boolean;
}

/** The settings of a batch norm, so a replacement (e.g. a multi-branch BN) can build its branches alike. */
export interface BatchNormConfig {
  numFeatures: number;
  eps: number;
  momentum: number;
  affine: boolean;
  trackRunningStats: boolean;
}

/**
 * Batch statistics taken over more rows than this process holds (synchronised batch norm over the
 * ranks of a data-parallel run). Given by the layer that owns the process group; nn/ only calls it.
 */
export interface BatchStatsSync {
  /** Training-mode batch norm of `x` with the statistics of every rank's rows, updating the running ones in place. */
  batchNorm(x: Tensor, bn: { weight: Tensor | null; bias: Tensor | null; runningMean: Tensor | null; runningVar: Tensor | null; momentum: number; eps: number }): Tensor;
}

export class BatchNorm2d extends Module {
  readonly config: BatchNormConfig;
  /** Where training-mode statistics come from when they span several processes; null: this batch alone. */
  statsSync: BatchStatsSync | null = null;
  /**
   * Whether training-mode forwards fold their batch statistics into the running ones (and count the
   * batch). Off for the rows of a replica whose statistics are discarded (src/methods/step.ts).
   */
  updatesRunningStats = true;

  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super();
    this.config = {
      numFeatures,
      eps: options.eps ?? 1e-5,
      momentum: options.momentum ?? 0.1,
      affine: options.affine ?? true,
      trackRunningStats: options.trackRunningStats ?? true,
    };
    if (this.config.affine) {
      this.registerParameter('weight', ones([numFeatures]));
      this.registerParameter('bias', zeros([numFeatures]));
    }
    if (this.config.trackRunningStats) {
      this.registerBuffer('running_mean', zeros([numFeatures]));
      this.registerBuffer('running_var', ones([numFeatures]));
      this.registerBuffer('num_batches_tracked', zeros([], { dtype: 'int64' }));
    }
  }

  get numFeatures(): number {
    return this.config.numFeatures;
  }
  get weight(): Tensor | null {
    return this.config.affine ? this.param('weight') : null;
  }
  get bias(): Tensor | null {
    return this.config.affine ? this.param('bias') : null;
  }
  get runningMean(): Tensor | null {
    return this.config.trackRunningStats ? this.buffer('running_mean') : null;
  }
  get runningVar(): Tensor | null {
    return this.config.trackRunningStats ? this.buffer('running_var') : null;
  }
  get numBatchesTracked(): Tensor | null {
    return this.config.trackRunningStats ? this.buffer('num_batches_tracked') : null;
  }

  /** Back to the freshly built state: scale 1, shift 0, mean 0, variance 1, no batches seen. */
  resetParameters(): void {
    const { weight, bias, runningMean, runningVar, numBatchesTracked } = this;
    if (weight) constant_(weight, 1);
    if (bias) constant_(bias, 0);
    if (runningMean) constant_(runningMean, 0);
    if (runningVar) constant_(runningVar, 1);
    if (numBatchesTracked) constant_(numBatchesTracked, 0);
  }

  /** Running statistics back to a fresh layer's (mean 0, variance 1, no batches seen); scale and shift stay. */
  resetRunningStats(): void {
    const { runningMean, runningVar, numBatchesTracked } = this;
    if (runningMean) constant_(runningMean, 0);
    if (runningVar) constant_(runningVar, 1);
    if (numBatchesTracked) constant_(numBatchesTracked, 0);
  }

  /**
   * Training mode normalises with the batch's statistics and folds them into the running ones;
   * eval mode normalises with the running ones (batch statistics when none are tracked).
   */
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.numFeatures) {
      throw new Error(`BatchNorm2d(${this.numFeatures}): expected input [N, ${this.numFeatures}, H, W], got [${x.shape.join(', ')}]`);
    }
    const useBatchStats = this.training || !this.config.trackRunningStats;
    if (this.training && !this.updatesRunningStats) {
      if (this.statsSync) throw new Error('BatchNorm2d: a forward that leaves the running statistics alone cannot take synchronised statistics');
      return F.batchNorm(x, null, null, this.weight, this.bias, { training: true, momentum: this.config.momentum, eps: this.config.eps });
    }
    if (this.training && this.config.trackRunningStats) noGrad(() => this.buffer('num_batches_tracked').add_(1));
    if (this.training && this.statsSync) {
      const { weight, bias, runningMean, runningVar } = this;
      const sync = this.statsSync;
      const settings = { weight, bias, runningMean, runningVar, momentum: this.config.momentum, eps: this.config.eps };
      // The exchanged statistics stay float32 in mixed precision; the output keeps the input's dtype.
      if (isReducedFloat(x.dtype)) return tidy(() => sync.batchNorm(x.to('float32'), settings).to(x.dtype));
      return sync.batchNorm(x, settings);
    }
    return F.batchNorm(x, this.runningMean, this.runningVar, this.weight, this.bias, {
      training: useBatchStats,
      momentum: this.config.momentum,
      eps: this.config.eps,
    });
  }
}

/** A copy of `source`'s tensors into `target` (same config), e.g. to start an auxiliary BN branch. */
export function copyBatchNorm(source: BatchNorm2d, target: BatchNorm2d): void {
  tidy(() => {
    target.loadStateDict(source.stateDict());
  });
}

/** Runs fn with every batch norm under `root` leaving its running statistics (and batch count) as they are. */
export function withoutRunningStatUpdates<R>(root: Module<unknown, unknown>, fn: () => R): R {
  const norms = root.namedModules().flatMap(([, m]) => (m instanceof BatchNorm2d ? [m] : []));
  for (const m of norms) m.updatesRunningStats = false;
  try {
    return fn();
  } finally {
    for (const m of norms) m.updatesRunningStats = true;
  }
}

/** Every batch norm under `root` (each branch of a multi-branch one too) takes its training statistics from `sync`; null: back to per-process. */
export function setBatchStatsSync(root: Module<unknown, unknown>, sync: BatchStatsSync | null): void {
  for (const [, m] of root.namedModules()) if (m instanceof BatchNorm2d) m.statsSync = sync;
}
