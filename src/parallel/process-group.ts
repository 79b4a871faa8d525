// A torch.distributed (c10d) process group: a TCP store on the master for the rendezvous, then
// Gloo (CPU tensors) or NCCL (CUDA tensors, only with a libtorch built with it). Collectives
// block until every rank has joined them; a peer that died or a rank that stalls past the
// timeout makes them throw a DistributedError naming the collective, the rank and the world size.
import { native, type NativeProcessGroup, type NativeReducer } from '../native/index.js';
import { Tensor } from '../torch/index.js';

export type Backend = 'gloo' | 'nccl';
export type ReduceOp = 'sum' | 'mean' | 'max' | 'min';

export interface ProcessGroupOptions {
  backend: Backend;
  rank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  /** How long a rendezvous or a collective may wait for the other ranks, in ms. */
  timeoutMs: number;
}

/** A c10d failure (a peer gone, a timeout, a refused rendezvous). */
export class DistributedError extends Error {
  override name = 'DistributedError';
}

/** The backends this build has: 'gloo' always, 'nccl' only over a CUDA libtorch that has it. */
export function availableBackends(): Backend[] {
  return native.c10dBackends().filter((b): b is Backend => b === 'gloo' || b === 'nccl');
}

export class ProcessGroup {
  #native: NativeProcessGroup | null;

  private constructor(
    group: NativeProcessGroup,
    readonly rank: number,
    readonly worldSize: number,
    readonly backend: Backend,
    readonly timeoutMs: number,
  ) {
    this.#native = group;
  }

  /** Joins the group; returns once all worldSize ranks have met at the store (or throws at the timeout). */
  static init(options: ProcessGroupOptions): ProcessGroup {
    const { backend, rank, worldSize, masterAddr, masterPort, timeoutMs } = options;
    if (!Number.isInteger(worldSize) || worldSize < 1) throw new RangeError(`world size must be a positive integer, got ${worldSize}`);
    if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) throw new RangeError(`rank must be an integer in 0..${worldSize - 1}, got ${rank}`);
    if (!Number.isInteger(masterPort) || masterPort < 1 || masterPort > 65535) throw new RangeError(`master port must be in 1..65535, got ${masterPort}`);
    if (!(timeoutMs > 0)) throw new RangeError(`timeout must be positive, got ${timeoutMs} ms`);
    if (!availableBackends().includes(backend)) {
      throw new DistributedError(`backend '${backend}' is not in this build (available: ${availableBackends().join(', ') || 'none'})`);
    }
    const group = wrapErrors(() => native.c10dInit(backend, rank, worldSize, masterAddr, masterPort, Math.round(timeoutMs)));
    return new ProcessGroup(group, rank, worldSize, backend, timeoutMs);
  }

  /**
   * In place: every rank's tensor becomes the reduction over ranks ('mean' is a sum then a
   * division). One collective per tensor: pack many small ones into one first (see GradientReducer).
   */
  allReduce(tensors: readonly Tensor[], op: ReduceOp = 'sum'): void {
    for (const t of tensors) wrapErrors(() => native.c10dAllReduce(this.group, [t.handle], op === 'mean' ? 'sum' : op));
    if (op === 'mean' && this.worldSize > 1) for (const t of tensors) t.div_(this.worldSize);
  }

  /** In place: every rank's tensors become root's; one collective per tensor. */
  broadcast(tensors: readonly Tensor[], root = 0): void {
    for (const t of tensors) wrapErrors(() => native.c10dBroadcast(this.group, [t.handle], root));
  }

  /** Every rank's `tensor` (same shape on all ranks), in rank order; new tensors owned by the caller. */
  allGather(tensor: Tensor): Tensor[] {
    const handles = wrapErrors(() => native.c10dAllGather(this.group, tensor.handle));
    return handles.map((h) => new Tensor(h));
  }

  /** c10d's Reducer over `params` (see OverlappedReducer). */
  createReducer(params: readonly Tensor[], bucketBytes: number): { handle: NativeReducer; buckets: number } {
    return wrapErrors(() => native.c10dReducerCreate(this.group, params.map((p) => p.handle), bucketBytes));
  }

  /**
   * Training-mode batch norm of this rank's `input` [N, C, ...] with the statistics of all ranks'
   * rows; its backward pass gives the gradient one process would for the whole batch. Every rank
   * must call it at the same point of its forward pass (see SyncBatchStats).
   */
  syncBatchNorm(input: Tensor, weight: Tensor | null, bias: Tensor | null, runningMean: Tensor | null, runningVar: Tensor | null, momentum: number, eps: number): Tensor {
    const handle = wrapErrors(() =>
      native.c10dSyncBatchNorm(this.group, input.handle, weight?.handle ?? null, bias?.handle ?? null, runningMean?.handle ?? null, runningVar?.handle ?? null, momentum, eps),
    );
    return new Tensor(handle);
  }

  /** Returns once every rank has reached it. */
  barrier(): void {
    wrapErrors(() => native.c10dBarrier(this.group));
  }

  /** Leaves the group and closes its connections; a second call is harmless. */
  destroy(): void {
    if (this.#native !== null) native.c10dDestroy(this.#native);
    this.#native = null;
  }

  private get group(): NativeProcessGroup {
    if (this.#native === null) throw new DistributedError(`process group of rank ${this.rank} used after destroy()`);
    return this.#native;
  }
}

function wrapErrors<T>(call: () => T): T {
  try {
    return call();
  } catch (err) {
    if (err instanceof RangeError || err instanceof TypeError) throw err;
    throw new DistributedError((err as Error).message);
  }
}
