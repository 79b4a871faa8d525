// Class-balanced batches, as the method trains: each batch holds batchSize/m classes with m
// images each (m = 2 by default). An epoch visits every image once: each class's images are
// shuffled and cut into groups of m (the last group topped up from the same class), the groups
// of all classes are shuffled, and batches are filled in that order, a group that would repeat a
// class in the batch waiting for the next batch. Only the last, incomplete batch is dropped, and
// a different one each epoch, so every class and image is reached.
import { Random } from '../random.js';
import { BatchSampler, checkedSamplesPerClass, indicesByClass, type SamplerState } from './sampler.js';

export interface ClassBalancedOptions {
  readonly batchSize: number;
  /** Images per class in a batch (m); must divide batchSize. Default 2. */
  readonly samplesPerClass?: number;
  readonly seed: number;
}

export class ClassBalancedSampler extends BatchSampler {
  readonly kind = 'class-balanced';
  readonly samplesPerClass: number;
  /** Split indices of each class, classes in label order. */
  private readonly members: Int32Array[];

  constructor(labels: Int32Array, options: ClassBalancedOptions) {
    super(labels, options.batchSize, options.seed);
    this.samplesPerClass = checkedSamplesPerClass(options.samplesPerClass, options.batchSize);
    this.members = indicesByClass(labels);
  }

  protected planEpoch(epoch: number): Int32Array[] {
    const rng = new Random(this.seed, 'class-balanced', epoch);
    const m = this.samplesPerClass;
    const groupsPerBatch = this.batchSize / m;
    // A class may appear more than once in a batch only when there are too few classes to fill it.
    const maxPerClass = Math.ceil(groupsPerBatch / this.members.length);

    const groupClass: number[] = [];
    const groupMembers: number[] = []; // m entries per group
    this.members.forEach((list, cls) => {
      const shuffled = rng.shuffle(Int32Array.from(list));
      const n = shuffled.length;
      const groups = Math.ceil(n / m);
      for (let g = 0; g < groups; g++) {
        groupClass.push(cls);
        // Positions past the end wrap to the start: distinct images when the class has >= m.
        for (let j = 0; j < m; j++) groupMembers.push(shuffled[(g * m + j) % n] as number);
      }
    });

    const order = rng.permutation(groupClass.length);
    const inBatch = new Int32Array(this.members.length);
    const waiting: number[] = [];
    const batches: Int32Array[] = [];
    let cursor = 0;
    for (;;) {
      const chosen: number[] = [];
      const take = (group: number): boolean => {
        const cls = groupClass[group] as number;
        if (chosen.length >= groupsPerBatch || (inBatch[cls] as number) >= maxPerClass) return false;
        inBatch[cls] = (inBatch[cls] as number) + 1;
        chosen.push(group);
        return true;
      };
      let kept = 0;
      for (const group of waiting) if (!take(group)) waiting[kept++] = group;
      waiting.length = kept;
      while (chosen.length < groupsPerBatch && cursor < order.length) {
        const group = order[cursor++] as number;
        if (!take(group)) waiting.push(group);
      }
      for (const group of chosen) inBatch[groupClass[group] as number] = 0;
      if (chosen.length < groupsPerBatch) break;
      const batch = new Int32Array(this.batchSize);
      chosen.forEach((group, k) => {
        for (let j = 0; j < m; j++) batch[k * m + j] = groupMembers[group * m + j] as number;
      });
      batches.push(batch);
    }
    return batches;
  }

  protected extraState(): Partial<SamplerState> {
    return { samplesPerClass: this.samplesPerClass };
  }
}
