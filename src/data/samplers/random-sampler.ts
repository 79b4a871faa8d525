// Plain random batches: each epoch a fresh permutation of the split, cut into batches; the last
// incomplete batch is dropped unless dropLast is false.
import { Random } from '../random.js';
import { BatchSampler, type SamplerState } from './sampler.js';

export interface RandomSamplerOptions {
  readonly batchSize: number;
  readonly seed: number;
  /** Drop the last incomplete batch of an epoch (default true, as training wants equal batches). */
  readonly dropLast?: boolean;
}

export class RandomSampler extends BatchSampler {
  readonly kind = 'random';
  readonly dropLast: boolean;

  constructor(labels: Int32Array, options: RandomSamplerOptions) {
    super(labels, options.batchSize, options.seed);
    this.dropLast = options.dropLast ?? true;
  }

  protected planEpoch(epoch: number): Int32Array[] {
    const order = new Random(this.seed, 'random', epoch).permutation(this.labels.length);
    return cutIntoBatches(order, this.batchSize, this.dropLast);
  }

  protected extraState(): Partial<SamplerState> {
    return { dropLast: this.dropLast };
  }
}

/** Every image once, in split order, the last batch possibly smaller: for evaluation and checks. */
export class SequentialSampler extends BatchSampler {
  readonly kind = 'sequential';

  constructor(labels: Int32Array, options: { readonly batchSize: number }) {
    super(labels, options.batchSize, 0);
  }

  protected planEpoch(): Int32Array[] {
    const order = new Int32Array(this.labels.length);
    for (let i = 0; i < order.length; i++) order[i] = i;
    return cutIntoBatches(order, this.batchSize, false);
  }

  protected extraState(): Partial<SamplerState> {
    return {};
  }
}

function cutIntoBatches(order: Int32Array, batchSize: number, dropLast: boolean): Int32Array[] {
  const batches: Int32Array[] = [];
  for (let start = 0; start < order.length; start += batchSize) {
    if (dropLast && start + batchSize > order.length) break;
    batches.push(order.slice(start, start + batchSize));
  }
  return batches;
}
