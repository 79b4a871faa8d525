// The MDProp authors' batches (their class_random sampler): an epoch is floor(N / batchSize)
// batches, and each batch draws batchSize/m classes uniformly *with replacement* (a class may
// come twice in one batch) and, for each draw, m images of that class uniformly with replacement
// (an image may come twice, and some images are never seen in an epoch). ClassBalancedSampler is
// the default instead: every image once per epoch, a class at most once per batch when possible.
import { Random } from '../random.js';
import { BatchSampler, checkedSamplesPerClass, indicesByClass, type SamplerState } from './sampler.js';

export interface ClassRandomOptions {
  readonly batchSize: number;
  /** Images drawn per class draw (m); must divide batchSize. Default 2. */
  readonly samplesPerClass?: number;
  readonly seed: number;
}

export class ClassRandomSampler extends BatchSampler {
  readonly kind = 'class-random';
  readonly samplesPerClass: number;
  private readonly members: Int32Array[];

  constructor(labels: Int32Array, options: ClassRandomOptions) {
    super(labels, options.batchSize, options.seed);
    this.samplesPerClass = checkedSamplesPerClass(options.samplesPerClass, options.batchSize);
    this.members = indicesByClass(labels);
  }

  protected planEpoch(epoch: number): Int32Array[] {
    const rng = new Random(this.seed, 'class-random', epoch);
    const m = this.samplesPerClass;
    const batches: Int32Array[] = [];
    for (let b = 0; b < Math.floor(this.labels.length / this.batchSize); b++) {
      const batch = new Int32Array(this.batchSize);
      for (let draw = 0; draw < this.batchSize / m; draw++) {
        const members = this.members[rng.int(this.members.length)]!;
        for (let j = 0; j < m; j++) batch[draw * m + j] = members[rng.int(members.length)]!;
      }
      batches.push(batch);
    }
    return batches;
  }

  protected extraState(): Partial<SamplerState> {
    return { samplesPerClass: this.samplesPerClass };
  }
}
