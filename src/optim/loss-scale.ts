// Dynamic loss scaling for float16 training: the loss is multiplied by a power of two before the
// backward pass so that small gradients survive float16's narrow range, and the gradients are
// divided by it again before the optimizer step (exactly: powers of two). A step whose gradients
// overflowed is skipped and the scale halved; after `growthInterval` good steps it doubles.
import { tidy, type Tensor } from '../torch/index.js';

export interface LossScaleOptions {
  /** Default 2^16. */
  initial?: number;
  /** Good steps before the scale doubles; default 2000. */
  growthInterval?: number;
}

export class DynamicLossScale {
  #scale: number;
  #good = 0;
  readonly growthInterval: number;

  /** `params`: the tensors whose gradients the optimizer steps on. */
  constructor(
    private readonly params: () => readonly Tensor[],
    options: LossScaleOptions = {},
  ) {
    this.#scale = options.initial ?? 2 ** 16;
    this.growthInterval = options.growthInterval ?? 2000;
    if (!(this.#scale > 0) || !Number.isInteger(Math.log2(this.#scale))) throw new RangeError(`loss scale must be a power of two, got ${this.#scale}`);
    if (!Number.isInteger(this.growthInterval) || this.growthInterval < 1) throw new RangeError(`loss scale growth interval must be a positive integer, got ${this.growthInterval}`);
  }

  get scale(): number {
    return this.#scale;
  }

  /**
   * Divides every gradient by the scale in place. Returns false, halving the scale, when a gradient
   * is not finite: the caller then skips the optimizer step (and should clear the gradients).
   */
  unscale(): boolean {
    const grads = this.params().flatMap((p) => {
      const g = p.grad;
      return g ? [g] : [];
    });
    try {
      const total = tidy(() => grads.reduce((sum: number, g) => sum + g.abs().sum().item(), 0));
      if (!Number.isFinite(total)) {
        this.#scale = Math.max(1, this.#scale / 2);
        this.#good = 0;
        return false;
      }
      for (const g of grads) g.mul_(1 / this.#scale);
      if (++this.#good >= this.growthInterval) {
        this.#scale *= 2;
        this.#good = 0;
      }
      return true;
    } finally {
      for (const g of grads) g.dispose();
    }
  }
}
