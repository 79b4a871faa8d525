// What the trainer asks of data parallelism, with two implementations: one process (everything is
// a no-op, the run is exactly the single-process run) and a c10d group of ranks. Rank r trains on
// rows [r*B/W, (r+1)*B/W) of every global batch of B images, the loss of each rank covers the
// global batch (other ranks' embeddings arrive as constants), and the gradients are summed, so W
// ranks compute the gradient one process would on the whole batch. Rank 0 alone writes files.
import type { DataSplit } from '../data/index.js';
import { SubsetSplit } from '../data/index.js';
import type { StepRows, StepSync } from '../methods/index.js';
import { native } from '../native/index.js';
import type { BatchStatsSync } from '../nn/index.js';
import { cat, noGrad, tensor, tidy, zeros, type Tensor } from '../torch/index.js';
import { GradientReducer } from './gradient-reducer.js';
import { OverlappedReducer } from './overlapped-reducer.js';
import type { WorkerPlace } from './environment.js';
import { availableBackends, ProcessGroup, type Backend } from './process-group.js';
import { SyncBatchStats } from './sync-batchnorm.js';

export interface Parallelism {
  readonly rank: number;
  readonly worldSize: number;
  /** Index on this machine: the GPU of a worker with --device cuda. */
  readonly localRank: number;
  /** Whether this process writes the run directory (rank 0). */
  readonly writes: boolean;
  /** The device this rank computes on: 'cuda' becomes cuda:<local rank> when several workers share a machine. */
  deviceFor(device: string): string;
  /** This rank's rows of a global batch of `size` rows. */
  shard(size: number): { start: number; count: number };
  /** Every rank's tensors become rank 0's. */
  broadcast(tensors: readonly Tensor[]): void;
  /** The step's gathering and gradient reduction over `modelParams` (summed) and `lossParams` (averaged), or undefined alone. */
  stepSync(modelParams: readonly Tensor[], lossParams: readonly Tensor[]): StepSync | undefined;
  /** Batch statistics over all ranks for the model's batch norms (synchronised BN), or undefined alone. */
  batchStatsSync(): BatchStatsSync | undefined;
  /** Whether any rank says yes (e.g. asked to stop), so all ranks stop at the same step. */
  anyRank(flag: boolean): boolean;
  /** Embeddings [N, dim] of a split, each rank embedding its share. */
  embedSplit(split: DataSplit, dim: number, embedPart: (part: DataSplit) => Promise<Float32Array>): Promise<Float32Array>;
  /** Seconds spent all-reducing gradients after the backward pass so far (0 when they overlap it). */
  readonly reduceSeconds: number;
  close(): void;
}

/** One process: the ordinary run. */
export const SINGLE_PROCESS: Parallelism = {
  rank: 0,
  worldSize: 1,
  localRank: 0,
  writes: true,
  deviceFor: (device) => device,
  shard: (size) => ({ start: 0, count: size }),
  broadcast: () => {},
  stepSync: () => undefined,
  batchStatsSync: () => undefined,
  anyRank: (flag) => flag,
  embedSplit: (split, _dim, embedPart) => embedPart(split),
  reduceSeconds: 0,
  close: () => {},
};

/** Rows [start, start + count) of `size` for `rank` of `world`: contiguous, sizes differing by at most one. */
export function shardOf(size: number, rank: number, world: number): { start: number; count: number } {
  const start = Math.floor((rank * size) / world);
  return { start, count: Math.floor(((rank + 1) * size) / world) - start };
}

export class DataParallel implements Parallelism {
  readonly rank: number;
  readonly worldSize: number;
  #reducers: GradientReducer[] = [];
  /** Where this rank's own collectives' tensors live: NCCL moves only CUDA tensors. */
  readonly #commDevice: string;

  constructor(
    readonly group: ProcessGroup,
    readonly localRank: number,
    /** Reduce gradients during the backward pass (c10d's Reducer), or after it (bucketed all-reduce, timed). */
    readonly overlap = true,
  ) {
    this.rank = group.rank;
    this.worldSize = group.worldSize;
    this.#commDevice = group.backend === 'nccl' ? `cuda:${localRank}` : 'cpu';
  }

  get writes(): boolean {
    return this.rank === 0;
  }

  get reduceSeconds(): number {
    return this.#reducers.reduce((sum, r) => sum + r.seconds, 0);
  }

  deviceFor(device: string): string {
    return device === 'cuda' ? `cuda:${this.localRank}` : device;
  }

  shard(size: number): { start: number; count: number } {
    return shardOf(size, this.rank, this.worldSize);
  }

  /** Packed per dtype into one flat tensor each: a few collectives instead of one per tensor. */
  broadcast(tensors: readonly Tensor[]): void {
    const kinds = new Map<string, Tensor[]>();
    for (const t of tensors) {
      const key = `${t.dtype}@${t.device}`;
      kinds.set(key, [...(kinds.get(key) ?? []), t]);
    }
    for (const list of kinds.values()) {
      tidy(() =>
        noGrad(() => {
          const flat = cat(list.map((t) => t.reshape([-1]))).to(this.#commDevice);
          this.group.broadcast([flat], 0);
          let offset = 0;
          for (const t of list) {
            t.copy_(flat.narrow(0, offset, t.numel).view([...t.shape]));
            offset += t.numel;
          }
        }),
      );
    }
  }

  stepSync(modelParams: readonly Tensor[], lossParams: readonly Tensor[]): StepSync {
    // Frozen parameters stay out: a zero gradient given to them would let weight decay move them.
    const trained = (params: readonly Tensor[]) => params.filter((p) => p.requiresGrad);
    // The loss's own parameters (proxies, margins) get the same gradient on every rank: averaged.
    const lossOwn = trained(lossParams);
    const averaged = new GradientReducer(this.group, lossOwn, { op: 'mean' });
    const gather = (local: StepRows) => this.gatherRows(local);
    // Builds without c10d's Reducer (libtorch 2.x) reduce after the backward pass.
    if (this.overlap && native.c10dHasReducer()) {
      const reducer = new OverlappedReducer(this.group, trained(modelParams));
      return {
        gather,
        backward: (loss) => {
          reducer.backward(loss);
          reducer.unscale(lossOwn);
          averaged.reduce();
        },
      };
    }
    const summed = new GradientReducer(this.group, trained(modelParams), { op: 'sum' });
    this.#reducers = [summed, averaged];
    return {
      gather,
      backward: (loss) => {
        loss.backward();
        summed.reduce();
        averaged.reduce();
      },
    };
  }

  batchStatsSync(): BatchStatsSync {
    return new SyncBatchStats(this.group);
  }

  /** All ranks' rows in rank order; only this rank's keep their autograd graph. */
  private gatherRows(local: StepRows): StepRows {
    const join = (t: Tensor): Tensor => {
      const parts = noGrad(() => this.group.allGather(t.detach().contiguous()));
      parts[this.rank] = t;
      return cat(parts);
    };
    return { embedding: join(local.embedding), labels: join(local.labels), features: join(local.features) };
  }

  anyRank(flag: boolean): boolean {
    return tidy(() => {
      const t = tensor([flag ? 1 : 0], [1]).to(this.#commDevice);
      this.group.allReduce([t], 'max');
      return t.item() > 0;
    });
  }

  async embedSplit(split: DataSplit, dim: number, embedPart: (part: DataSplit) => Promise<Float32Array>): Promise<Float32Array> {
    const { start, count } = this.shard(split.size);
    const mine = count === 0 ? new Float32Array(0) : await embedPart(new SubsetSplit(split, Int32Array.from({ length: count }, (_, i) => start + i)));
    // all_gather needs one shape on every rank: pad each share to the largest.
    const most = Math.ceil(split.size / this.worldSize);
    return tidy(() => {
      const padded = zeros([most, dim]);
      if (count > 0) padded.narrow(0, 0, count).copy_(tensor(mine, [count, dim]));
      const parts = this.group.allGather(padded.to(this.#commDevice));
      const rows = parts.map((p, r) => p.narrow(0, 0, shardOf(split.size, r, this.worldSize).count));
      return cat(rows).to('cpu').contiguous().toFloat32Array();
    });
  }

  close(): void {
    this.group.destroy();
  }
}

export interface JoinOptions {
  /** The run's device setting: with 'cuda' each worker takes the GPU of its local rank. */
  device: string;
  /** How long a collective may wait for the other ranks, in ms. */
  timeoutMs: number;
  /** Default: NCCL for CUDA when this build has it, Gloo otherwise. */
  backend?: Backend;
  /** Gradients reduced during the backward pass (default) or after it; see DataParallel. */
  overlap?: boolean;
}

/** Joins the run `place` describes (see workerPlace) and returns this rank's part in it. */
export function joinRun(place: WorkerPlace, options: JoinOptions): DataParallel {
  const cuda = options.device.startsWith('cuda');
  const backend = options.backend ?? (cuda && availableBackends().includes('nccl') ? 'nccl' : 'gloo');
  const group = ProcessGroup.init({ backend, rank: place.rank, worldSize: place.worldSize, masterAddr: place.masterAddr, masterPort: place.masterPort, timeoutMs: options.timeoutMs });
  return new DataParallel(group, place.localRank, options.overlap ?? true);
}
