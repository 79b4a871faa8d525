// Each float32 weight cast once per change, as autocast casts each weight once per step. A layer
// that computes in bfloat16 (or float16) keeps the cast copy of each weight and reuses it until the
// weight's version counter moves: optimizer steps, state-dict loads and every other in-place change
// raise it, so a stale copy is never used.
//
// Autograd: a copy made while the weight takes gradients (grad mode on, requires_grad set) is a
// node of the graph, `to` whose backward casts the gradient back to float32 and accumulates it
// into the master weight's .grad; its backward keeps no tensors, so several forwards and backwards
// may go through one copy. A copy made outside the graph (the weight frozen, as attacks freeze
// it, or grad mode off) must never serve a forward that trains the weight. So the cache holds the
// graph copy, and hands out an alias of it, detached, where no graph is wanted; a detached copy of
// its own is made only where the weight cannot take gradients at all.
import { enableGrad, isGradEnabled, keep, noGrad, type DType, type MemoryFormat, type Tensor } from '../torch/index.js';

interface CachedCast {
  source: Tensor;
  version: number;
  dtype: DType;
  memoryFormat: MemoryFormat | undefined;
  /** The copy in the graph (null when the source took no gradients when it was made). */
  attached: Tensor | null;
  /** A copy, or an alias of `attached`, outside the graph. */
  detached: Tensor | null;
}

/** The cast copies of one layer's weights, by slot ('weight', 'bias'). */
export class WeightCasts {
  readonly #entries = new Map<string, CachedCast>();

  /**
   * `weight` in `dtype` (and `memoryFormat`), from the cache when the weight has not changed since
   * the copy was made. The copy belongs to the cache: callers use it and never dispose it.
   */
  get(slot: string, weight: Tensor, dtype: DType, memoryFormat?: MemoryFormat): Tensor {
    let entry = this.#entries.get(slot);
    const version = weight.version;
    if (!entry || entry.source !== weight || entry.version !== version || entry.dtype !== dtype || entry.memoryFormat !== memoryFormat) {
      this.#drop(slot);
      entry = { source: weight, version, dtype, memoryFormat, attached: null, detached: null };
      this.#entries.set(slot, entry);
    }
    const graph = isGradEnabled() && weight.requiresGrad;
    if (graph) {
      // A detached copy of its own cannot take the graph's place: cast again, in the graph.
      if (!entry.attached) entry.attached = keep(weight.to(dtype, memoryFormat));
      return entry.attached;
    }
    if (!entry.detached) entry.detached = keep(entry.attached ? entry.attached.detach() : noGrad(() => weight.to(dtype, memoryFormat)));
    return entry.detached;
  }

  /**
   * Makes the graph copy of every copy made before, from the weight's current values, now while
   * the weights still take gradients: forwards with the weights frozen (a training step's attacks)
   * and the training forward after them then share one cast. A slot never used is not cast.
   */
  prepare(): void {
    for (const [slot, e] of this.#entries) if (e.source.requiresGrad) enableGrad(() => this.get(slot, e.source, e.dtype, e.memoryFormat));
  }

  /** Frees every copy (the layer changed its compute dtype, or is disposed). */
  clear(): void {
    for (const slot of [...this.#entries.keys()]) this.#drop(slot);
  }

  #drop(slot: string): void {
    const entry = this.#entries.get(slot);
    if (!entry) return;
    // Disposing a handle drops one reference: a graph that saved the copy for its backward keeps it alive.
    entry.attached?.dispose();
    entry.detached?.dispose();
    this.#entries.delete(slot);
  }
}
