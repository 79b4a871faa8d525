import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClassBalancedSampler, RandomSampler, restoreSampler, SequentialSampler, type BatchSampler } from '../../src/data/index.js';

/** `classes` classes with sizes cycling through `sizes`. */
function labelsOf(classes: number, sizes: readonly number[]): Int32Array {
  const out: number[] = [];
  for (let c = 0; c < classes; c++) for (let k = 0; k < (sizes[c % sizes.length] as number); k++) out.push(c);
  return Int32Array.from(out);
}

const epochOf = (s: BatchSampler, epoch: number) => s.epochBatches(epoch).map((b) => [...b]);

test('class-balanced: m images of each of batchSize/m distinct classes per batch', () => {
  const labels = labelsOf(40, [5, 2, 7, 3, 1]);
  const sampler = new ClassBalancedSampler(labels, { batchSize: 16, seed: 1 });
  const batches = sampler.epochBatches(0);
  assert.ok(batches.length >= Math.floor(labels.length / 16) - 2, `${batches.length} batches`);
  for (const batch of batches) {
    assert.equal(batch.length, 16);
    const perClass = new Map<number, number[]>();
    for (let k = 0; k < batch.length; k += 2) {
      const a = batch[k] as number;
      const b = batch[k + 1] as number;
      assert.equal(labels[a], labels[b], 'a pair shares its class');
      perClass.set(labels[a] as number, [a, b]);
    }
    assert.equal(perClass.size, 8, 'eight distinct classes');
  }
});

test('class-balanced: an epoch visits nearly every image once; over epochs every image and class is reached', () => {
  const labels = labelsOf(30, [4, 6, 3, 2, 9]);
  const sampler = new ClassBalancedSampler(labels, { batchSize: 12, samplesPerClass: 3, seed: 9 });
  const seen = new Set<number>();
  for (let epoch = 0; epoch < 6; epoch++) {
    const counts = new Map<number, number>();
    for (const batch of sampler.epochBatches(epoch)) for (const i of batch) counts.set(i, (counts.get(i) ?? 0) + 1);
    // Only groups topped up from their own class repeat an image, and only the dropped tail misses some.
    const visited = counts.size / labels.length;
    assert.ok(visited > 0.8, `epoch ${epoch} visited ${visited}`);
    for (const i of counts.keys()) seen.add(i);
  }
  assert.equal(seen.size, labels.length);
});

test('class-balanced: fewer classes than a batch needs lets a class fill several slots', () => {
  const labels = labelsOf(5, [100]);
  const sampler = new ClassBalancedSampler(labels, { batchSize: 64, seed: 3 });
  const batches = sampler.epochBatches(0);
  assert.equal(batches.length, 7);
  for (const batch of batches) {
    const counts = new Map<number, number>();
    for (const i of batch) counts.set(labels[i] as number, (counts.get(labels[i] as number) ?? 0) + 1);
    assert.ok([...counts.values()].every((n) => n <= 14), JSON.stringify([...counts]));
  }
});

test('samplers are deterministic for a seed and differ across seeds and epochs', () => {
  const labels = labelsOf(20, [4, 5]);
  for (const make of [
    (seed: number) => new ClassBalancedSampler(labels, { batchSize: 8, seed }),
    (seed: number) => new RandomSampler(labels, { batchSize: 8, seed }),
  ]) {
    assert.deepEqual(epochOf(make(1), 0), epochOf(make(1), 0));
    assert.deepEqual(epochOf(make(1), 4), epochOf(make(1), 4));
    assert.notDeepEqual(epochOf(make(1), 0), epochOf(make(2), 0));
    assert.notDeepEqual(epochOf(make(1), 0), epochOf(make(1), 1));
  }
});

test('random sampler: a permutation per epoch, last incomplete batch dropped unless asked; sequential keeps order', () => {
  const labels = labelsOf(10, [1]);
  const dropping = new RandomSampler(labels, { batchSize: 4, seed: 0 });
  assert.deepEqual(epochOf(dropping, 0).map((b) => b.length), [4, 4]);
  const keeping = new RandomSampler(labels, { batchSize: 4, seed: 0, dropLast: false });
  assert.deepEqual(epochOf(keeping, 0).flat().sort((a, b) => a - b), [...labels.keys()]);
  assert.deepEqual(epochOf(new SequentialSampler(labels, { batchSize: 4 }), 0), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
});

test('next() walks epochs; the state resumes exactly, through JSON', () => {
  const labels = labelsOf(12, [3, 4]);
  const a = new ClassBalancedSampler(labels, { batchSize: 6, samplesPerClass: 2, seed: 11 });
  const perEpoch = a.batchesInEpoch(0);
  for (let i = 0; i < perEpoch + 2; i++) a.next();
  const saved = JSON.parse(JSON.stringify(a.state()));
  assert.equal(saved.kind, 'class-balanced');
  assert.equal(saved.epoch, 1);
  assert.equal(saved.batch, 2);
  const expected = Array.from({ length: perEpoch * 2 }, () => a.next());
  const b = restoreSampler(labels, saved);
  assert.deepEqual(Array.from({ length: perEpoch * 2 }, () => b.next()), expected);
  const last = expected.find((x) => x.lastInEpoch);
  assert.equal(last?.step, perEpoch - 1);

  assert.throws(() => restoreSampler(labelsOf(12, [3, 5]), saved), /sampler state is for a split of/);
  const random = new RandomSampler(labels, { batchSize: 5, seed: 2, dropLast: false });
  random.next();
  assert.deepEqual(restoreSampler(labels, random.state()).next(), random.next());
});

test('bad sampler options are refused', () => {
  const labels = labelsOf(4, [2]);
  assert.throws(() => new ClassBalancedSampler(labels, { batchSize: 7, seed: 0 }), /must be a positive divisor/);
  assert.throws(() => new RandomSampler(labels, { batchSize: 0, seed: 0 }), /batch size/);
  assert.throws(() => new RandomSampler(new Int32Array(0), { batchSize: 2, seed: 0 }), /empty split/);
  assert.throws(() => new RandomSampler(labels, { batchSize: 100, seed: 0 }).next(), /no complete batch of 100/);
  assert.throws(() => new SequentialSampler(labels, { batchSize: 2 }).seek({ epoch: 0, batch: 9 }), /invalid sampler position/);
});
