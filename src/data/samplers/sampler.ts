// What all batch samplers share: an epoch is a list of batches (indices into a split) that is a
// pure function of (seed, epoch), and a cursor (epoch, batch) walks through them. The cursor and
// the options are the whole state, so a checkpoint stores a few numbers and a resumed run draws
// exactly the batches it would have drawn.

export type SamplerKind = 'class-balanced' | 'class-random' | 'random' | 'sequential';

export interface SamplerPosition {
  readonly epoch: number;
  /** Index of the next batch within the epoch. */
  readonly batch: number;
}

/** Everything needed to rebuild a sampler at the same position; plain JSON. */
export interface SamplerState extends SamplerPosition {
  readonly kind: SamplerKind;
  readonly seed: number;
  readonly batchSize: number;
  /** Class-balanced and class-random only. */
  readonly samplesPerClass?: number;
  /** Random only. */
  readonly dropLast?: boolean;
  /** Size and a hash of the labels of the split, to refuse resuming on different data. */
  readonly size: number;
  readonly labelsHash: string;
}

export interface SampledBatch {
  readonly indices: Int32Array;
  readonly epoch: number;
  /** Index of this batch within its epoch. */
  readonly step: number;
  readonly lastInEpoch: boolean;
}

export abstract class BatchSampler {
  abstract readonly kind: SamplerKind;
  private epoch = 0;
  private batch = 0;
  private cached: { epoch: number; batches: readonly Int32Array[] } | undefined;

  protected constructor(
    protected readonly labels: Int32Array,
    readonly batchSize: number,
    readonly seed: number,
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
    if (labels.length === 0) throw new RangeError('cannot sample from an empty split');
  }

  /** The batches of one epoch; the same for the same seed and epoch. */
  protected abstract planEpoch(epoch: number): Int32Array[];

  /** Options that go into the state besides the common ones. */
  protected abstract extraState(): Partial<SamplerState>;

  epochBatches(epoch: number): readonly Int32Array[] {
    if (this.cached?.epoch !== epoch) this.cached = { epoch, batches: this.planEpoch(epoch) };
    return this.cached.batches;
  }

  batchesInEpoch(epoch = this.epoch): number {
    return this.epochBatches(epoch).length;
  }

  position(): SamplerPosition {
    return { epoch: this.epoch, batch: this.batch };
  }

  /** Moves the cursor, e.g. to resume; `batch` may equal the epoch's length (start of the next). */
  seek(position: SamplerPosition): void {
    const { epoch, batch } = position;
    if (!Number.isInteger(epoch) || epoch < 0 || !Number.isInteger(batch) || batch < 0 || batch > this.batchesInEpoch(epoch)) {
      throw new RangeError(`invalid sampler position epoch ${epoch}, batch ${batch}`);
    }
    this.epoch = epoch;
    this.batch = batch;
  }

  /** The batch at the cursor; the cursor moves on, into the next epoch after the last batch. */
  next(): SampledBatch {
    let batches = this.epochBatches(this.epoch);
    if (this.batch >= batches.length) {
      if (batches.length === 0) {
        throw new RangeError(`${this.kind} sampler: no complete batch of ${this.batchSize} in a split of ${this.labels.length} images`);
      }
      this.epoch++;
      this.batch = 0;
      batches = this.epochBatches(this.epoch);
    }
    const step = this.batch++;
    const indices = batches[step] as Int32Array;
    return { indices, epoch: this.epoch, step, lastInEpoch: step === batches.length - 1 };
  }

  state(): SamplerState {
    return {
      kind: this.kind,
      seed: this.seed,
      batchSize: this.batchSize,
      ...this.extraState(),
      size: this.labels.length,
      labelsHash: hashLabels(this.labels),
      epoch: this.epoch,
      batch: this.batch,
    };
  }
}

/** FNV-1a over the labels, as hex: cheap, and enough to tell two splits apart. */
export function hashLabels(labels: Int32Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < labels.length; i++) {
    h = Math.imul(h ^ (labels[i] as number), 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** Images drawn per class (m), checked: a positive divisor of the batch size; 2 when not given. */
export function checkedSamplesPerClass(samplesPerClass: number | undefined, batchSize: number): number {
  const m = samplesPerClass ?? 2;
  if (!Number.isInteger(m) || m < 1 || batchSize % m !== 0) {
    throw new RangeError(`samples per class (${m}) must be a positive divisor of the batch size (${batchSize})`);
  }
  return m;
}

/** The split indices of each class, classes in label order. */
export function indicesByClass(labels: Int32Array): Int32Array[] {
  const byLabel = new Map<number, number[]>();
  labels.forEach((label, i) => {
    const list = byLabel.get(label);
    if (list) list.push(i);
    else byLabel.set(label, [i]);
  });
  return [...byLabel.keys()].sort((a, b) => a - b).map((label) => Int32Array.from(byLabel.get(label)!));
}
