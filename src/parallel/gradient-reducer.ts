// Gradients made equal across ranks after the backward pass: the parameters' gradients are packed
// into buckets of at most `bucketBytes` (one flat tensor per bucket, per dtype and device), each
// bucket is all-reduced in one collective, and the results are copied back. Fewer, larger messages
// than one per parameter. OverlappedReducer (c10d's Reducer) sends the buckets during the backward
// pass instead; this one serves where that is not built, for the loss's own parameters, and to
// time the all-reduce alone.
import { cat, noGrad, tidy, zerosLike, type Tensor } from '../torch/index.js';
import type { ProcessGroup, ReduceOp } from './process-group.js';

export interface ReducerOptions {
  /** 'sum' when every rank's loss covers the global batch but only its own rows carry gradients; 'mean' for identical copies. */
  op: ReduceOp;
  /** Largest bucket, in bytes (default 25 MiB, as DDP's). */
  bucketBytes?: number;
}

const ELEMENT_BYTES: Record<string, number> = { float32: 4, float64: 8, float16: 2, bfloat16: 2 };

export class GradientReducer {
  readonly buckets: readonly (readonly Tensor[])[];
  /** Time spent in all-reduce since the last resetTimer(), in seconds; what the benchmark reports. */
  seconds = 0;
  readonly #op: ReduceOp;

  constructor(
    private readonly group: ProcessGroup,
    params: readonly Tensor[],
    options: ReducerOptions,
  ) {
    this.#op = options.op;
    this.buckets = bucketsOf(params, options.bucketBytes ?? 25 * 2 ** 20);
  }

  /** All-reduces every parameter's gradient; a parameter without one takes part with zeros (and gets the result). */
  reduce(): void {
    if (this.group.worldSize === 1) return;
    for (const bucket of this.buckets) {
      tidy(() =>
        noGrad(() => {
          const grads = bucket.map((p) => p.grad ?? zerosLike(p));
          const flat = cat(grads.map((g) => g.reshape([-1])));
          const started = performance.now();
          this.group.allReduce([flat], this.#op);
          this.seconds += (performance.now() - started) / 1000;
          let offset = 0;
          bucket.forEach((p, i) => {
            const g = grads[i]!;
            const n = g.numel;
            g.copy_(flat.narrow(0, offset, n).view([...g.shape]));
            offset += n;
            if (!p.grad) p.grad = g;
          });
        }),
      );
    }
  }
}

/** Consecutive parameters of one dtype and device, cut at `bucketBytes`. */
function bucketsOf(params: readonly Tensor[], bucketBytes: number): Tensor[][] {
  const buckets: Tensor[][] = [];
  let current: Tensor[] = [];
  let bytes = 0;
  let kind = '';
  for (const p of params) {
    const pKind = `${p.dtype}@${p.device}`;
    const pBytes = p.numel * (ELEMENT_BYTES[p.dtype] ?? 4);
    if (current.length > 0 && (pKind !== kind || bytes + pBytes > bucketBytes)) {
      buckets.push(current);
      current = [];
      bytes = 0;
    }
    current.push(p);
    bytes += pBytes;
    kind = pKind;
  }
  if (current.length > 0) buckets.push(current);
  return buckets;
}
