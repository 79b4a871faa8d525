// Gradients made equal across ranks while the backward pass runs: c10d's Reducer (the one behind
// PyTorch's DistributedDataParallel) hooks each parameter's gradient accumulator and all-reduces a
// bucket (25 MiB) as soon as all its gradients exist, so communication overlaps the rest of the
// backward pass. The Reducer averages; a rank's loss here covers the global batch but only its
// own rows carry gradients, which must be summed, so the backward pass runs on loss x worldSize.
import type { NativeReducer } from '../native/index.js';
import { native } from '../native/index.js';
import { noGrad, tidy, type Tensor } from '../torch/index.js';
import { DistributedError, type ProcessGroup } from './process-group.js';

/** libtorch errors that come from the collective under the backward pass, not from autograd itself. */
const COLLECTIVE_FAILURE = /gloo|nccl|connection|timed out|timeout|peer|socket/i;

export class OverlappedReducer {
  readonly #reducer: NativeReducer;
  /** How many buckets c10d made of the parameters. */
  readonly buckets: number;

  constructor(
    private readonly group: ProcessGroup,
    params: readonly Tensor[],
    bucketBytes = 25 * 2 ** 20,
  ) {
    const { handle, buckets } = group.createReducer(params, bucketBytes);
    this.#reducer = handle;
    this.buckets = buckets;
  }

  /** loss.backward() with the parameters' gradients summed over the ranks when it returns. */
  backward(loss: Tensor): void {
    tidy(() => {
      const scaled = this.group.worldSize === 1 ? loss : loss.mul(this.group.worldSize);
      native.c10dReducerPrepare(this.#reducer, [scaled.handle]);
      try {
        scaled.backward();
      } catch (err) {
        const message = (err as Error).message;
        if (!COLLECTIVE_FAILURE.test(message)) throw err;
        throw new DistributedError(`all_reduce of the gradients during the backward pass on rank ${this.group.rank} of ${this.group.worldSize} (${this.group.backend}): ${message}`);
      }
    });
  }

  /** Gradients of parameters outside the reducer that the scaled backward pass multiplied by worldSize. */
  unscale(params: readonly Tensor[]): void {
    if (this.group.worldSize === 1) return;
    noGrad(() => tidy(() => params.forEach((p) => p.grad?.div_(this.group.worldSize))));
  }
}
