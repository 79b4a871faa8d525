// One rank's part of every batch of a sampler: rows [start, start + count) of each global batch,
// so the ranks of a run see disjoint images that together make the batch a lone process would
// draw. Its state is the global sampler's, so a checkpoint resumes with any number of ranks.
import { BatchSampler, type SamplerKind, type SamplerState } from '../data/index.js';

export class ShardedSampler extends BatchSampler {
  readonly kind: SamplerKind;

  constructor(
    private readonly global: BatchSampler,
    labels: Int32Array,
    readonly rows: { start: number; count: number },
  ) {
    super(labels, global.batchSize, global.seed);
    if (rows.count < 1 || rows.start < 0 || rows.start + rows.count > global.batchSize) {
      throw new RangeError(`rows ${rows.start}..${rows.start + rows.count - 1} are not within a batch of ${global.batchSize}`);
    }
    this.kind = global.kind;
    this.seek(global.position());
  }

  protected planEpoch(epoch: number): Int32Array[] {
    return this.global.epochBatches(epoch).map((batch) => batch.subarray(this.rows.start, this.rows.start + this.rows.count));
  }

  /** The global sampler's own options, whatever its kind. */
  protected extraState(): Partial<SamplerState> {
    const { kind: _kind, seed: _seed, batchSize: _batchSize, size: _size, labelsHash: _hash, epoch: _epoch, batch: _batch, ...own } = this.global.state();
    return own;
  }
}
