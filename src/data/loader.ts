// The loader turns sampled index batches into decoded, augmented, normalized batches, working
// `prefetch` batches ahead so that decoding (on libvips' threads) overlaps the training step.
// Memory stays bounded: at most prefetch + 1 batches exist at once. Each image's augmentation
// draws from its own stream (seed, epoch, step, slot), so batches do not depend on the order in
// which decodes finish, and a resumed run reproduces them. A corrupt image rejects its batch
// with an ImageDecodeError naming the file; nothing is skipped silently.
import { Random } from './random.js';
import { SequentialSampler } from './samplers/random-sampler.js';
import type { BatchSampler, SampledBatch, SamplerPosition, SamplerState } from './samplers/sampler.js';
import { outputShape, transformInto, type Transform } from './transforms.js';
import type { Batch, DataSplit } from './types.js';

export interface LoaderOptions {
  readonly sampler: BatchSampler;
  readonly transform: Transform;
  /** Seed of the augmentation randomness (default: the sampler's seed). */
  readonly seed?: number;
  /** Batches prepared ahead of the one being consumed (default 2; 0 = none). */
  readonly prefetch?: number;
  /**
   * Slot of the first row within the whole batch, for a sampler that yields one rank's rows of it:
   * each image then gets the augmentation it would get in a single-process run (default 0).
   */
  readonly firstSlot?: number;
}

interface Pending {
  readonly after: SamplerPosition;
  readonly batch: Promise<Batch>;
}

export class DataLoader {
  readonly sampler: BatchSampler;
  readonly transform: Transform;
  private readonly seed: number;
  private readonly prefetch: number;
  private readonly firstSlot: number;
  private readonly queue: Pending[] = [];
  private delivered: SamplerPosition;

  constructor(
    readonly split: DataSplit,
    options: LoaderOptions,
  ) {
    this.sampler = options.sampler;
    this.transform = options.transform;
    this.seed = options.seed ?? options.sampler.seed;
    this.prefetch = options.prefetch ?? 2;
    this.firstSlot = options.firstSlot ?? 0;
    if (!Number.isInteger(this.prefetch) || this.prefetch < 0) throw new RangeError(`prefetch must be a non-negative integer, got ${this.prefetch}`);
    this.delivered = this.sampler.position();
  }

  /** The next batch; batches run on across epochs (see Batch.lastInEpoch). */
  async next(): Promise<Batch> {
    this.fill(this.prefetch + 1);
    const head = this.queue.shift() as Pending;
    this.fill(this.prefetch);
    const batch = await head.batch;
    this.delivered = head.after;
    return batch;
  }

  /** The batches from the current position to the end of its epoch. */
  async *epoch(): AsyncGenerator<Batch, void, undefined> {
    for (;;) {
      // Between batches, signal handlers get their turn: a Ctrl-C during an evaluation is seen.
      await turnOfEventLoop();
      const batch = await this.next();
      yield batch;
      if (batch.lastInEpoch) return;
    }
  }

  batchesPerEpoch(epoch = this.delivered.epoch): number {
    return this.sampler.batchesInEpoch(epoch);
  }

  /** The sampler state just after the last batch handed out (prefetched ones are not counted). */
  state(): SamplerState {
    return { ...this.sampler.state(), epoch: this.delivered.epoch, batch: this.delivered.batch };
  }

  /** Forgets prefetched batches (their decoding finishes in the background and is dropped). */
  close(): void {
    this.queue.length = 0;
    this.sampler.seek(this.delivered);
  }

  private fill(depth: number): void {
    while (this.queue.length < depth) {
      const sampled = this.sampler.next();
      const batch = this.build(sampled);
      batch.catch(() => undefined); // a failure is reported when this batch is consumed
      this.queue.push({ after: this.sampler.position(), batch });
    }
  }

  private async build(sampled: SampledBatch): Promise<Batch> {
    const { indices, epoch, step, lastInEpoch } = sampled;
    const [c, h, w] = outputShape(this.transform);
    const perImage = c * h * w;
    const images = new Float32Array(indices.length * perImage);
    const labels = new Int32Array(indices.length);
    const train = this.transform.kind === 'train';
    await Promise.all(
      Array.from(indices, (index, slot) => {
        labels[slot] = this.split.labels[index] as number;
        const rng = train ? new Random(this.seed, 'augment', epoch, step, this.firstSlot + slot) : undefined;
        return transformInto(this.split.image(index), this.transform, rng, images, slot * perImage);
      }),
    );
    return { images, shape: [indices.length, c, h, w], labels, indices, epoch, step, lastInEpoch };
  }
}

/**
 * Lets pending I/O and signal handlers run. Awaiting an already prefetched batch only drains
 * microtasks, so without this a Ctrl-C would not be seen until a whole pass over the data ended.
 */
export function turnOfEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A loader over every image of a split once, in order, for evaluation or embedding. */
export function evaluationLoader(split: DataSplit, options: { batchSize: number; transform: Transform; prefetch?: number }): DataLoader {
  const sampler = new SequentialSampler(split.labels, { batchSize: options.batchSize });
  return new DataLoader(split, { sampler, transform: options.transform, prefetch: options.prefetch ?? 2 });
}
