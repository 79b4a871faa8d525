import assert from 'node:assert/strict';
import path from 'node:path';
import { before, test } from 'node:test';
import {
  ClassBalancedSampler,
  DataLoader,
  evaluationLoader,
  ImageDecodeError,
  openDataset,
  restoreSampler,
  testTransform,
  trainTransform,
  type DataSplit,
  type ImageSource,
} from '../../src/data/index.js';
import { makeFolder, makeCub, tempDir } from './fixtures.js';

let fashion: DataSplit;
before(async () => {
  fashion = (await openDataset('fashion-mnist', { limit: 400 })).train;
});

const train = trainTransform({ size: 28 });

test('a batch: NCHW floats, labels and indices of the split', async () => {
  const sampler = new ClassBalancedSampler(fashion.labels, { batchSize: 10, seed: 1 });
  const loader = new DataLoader(fashion, { sampler, transform: train });
  const batch = await loader.next();
  assert.deepEqual(batch.shape, [10, 3, 28, 28]);
  assert.equal(batch.images.length, 10 * 3 * 28 * 28);
  assert.ok(batch.images.every(Number.isFinite));
  assert.deepEqual([...batch.labels], [...batch.indices].map((i) => fashion.labels[i]));
  assert.equal(batch.epoch, 0);
  assert.equal(batch.step, 0);
  loader.close();
});

test('the same seed gives the same batches; augmentation differs across seeds', async () => {
  const run = async (seed: number, augmentSeed: number) => {
    const loader = new DataLoader(fashion, { sampler: new ClassBalancedSampler(fashion.labels, { batchSize: 8, seed }), transform: train, seed: augmentSeed, prefetch: 3 });
    const batches = [await loader.next(), await loader.next()];
    loader.close();
    return batches;
  };
  const [a, b, c] = [await run(4, 4), await run(4, 4), await run(4, 5)];
  assert.deepEqual(a.map((x) => x.images), b.map((x) => x.images));
  assert.deepEqual(a.map((x) => [...x.indices]), c.map((x) => [...x.indices]));
  assert.notDeepEqual(a.map((x) => x.images), c.map((x) => x.images));
});

test('resuming from the loader state reproduces the following batches exactly', async () => {
  const make = () => new ClassBalancedSampler(fashion.labels, { batchSize: 20, seed: 8 });
  const first = new DataLoader(fashion, { sampler: make(), transform: train, prefetch: 2 });
  const perEpoch = first.batchesPerEpoch();
  for (let i = 0; i < perEpoch - 1; i++) await first.next();
  const state = JSON.parse(JSON.stringify(first.state()));
  assert.deepEqual([state.epoch, state.batch], [0, perEpoch - 1], 'prefetched batches are not counted');
  const expected = [await first.next(), await first.next()];
  assert.equal(expected[0]?.lastInEpoch, true);
  assert.equal(expected[1]?.epoch, 1);
  first.close();

  const resumed = new DataLoader(fashion, { sampler: restoreSampler(fashion.labels, state), transform: train });
  const again = [await resumed.next(), await resumed.next()];
  resumed.close();
  assert.deepEqual(again.map((b) => [b.epoch, b.step, [...b.indices]]), expected.map((b) => [b.epoch, b.step, [...b.indices]]));
  assert.deepEqual(again.map((b) => b.images), expected.map((b) => b.images));
});

test('prefetch decodes a bounded number of batches ahead', async () => {
  let opened = 0;
  const counting: DataSplit = Object.assign(Object.create(fashion) as DataSplit, {
    image: (i: number): ImageSource => {
      opened++;
      return fashion.image(i);
    },
  });
  const sampler = new ClassBalancedSampler(fashion.labels, { batchSize: 10, seed: 2 });
  const loader = new DataLoader(counting, { sampler, transform: train, prefetch: 2 });
  await loader.next();
  assert.equal(opened, 30, 'the batch handed out plus two ahead');
  await loader.next();
  assert.equal(opened, 40);
  loader.close();
});

test('epoch() yields one epoch; evaluationLoader covers a split once, in order', async () => {
  const tmp = tempDir('loader-folder');
  try {
    await makeFolder(tmp.dir);
    const ds = await openDataset('folder', { root: tmp.dir });
    const loader = evaluationLoader(ds.evaluation.query, { batchSize: 3, transform: testTransform({ resize: 8, crop: 6 }) });
    const batches = [];
    for await (const batch of loader.epoch()) batches.push(batch);
    assert.deepEqual(batches.map((b) => b.shape), [[3, 3, 6, 6], [1, 3, 6, 6]]);
    assert.deepEqual(batches.flatMap((b) => [...b.indices]), [0, 1, 2, 3]);
    assert.deepEqual(batches.flatMap((b) => [...b.labels]), [0, 0, 1, 1]);
  } finally {
    tmp.cleanup();
  }
});

test('a corrupt image stops the loader with an error naming its path', async () => {
  const tmp = tempDir('loader-corrupt');
  try {
    await makeCub(tmp.dir, { corrupt: true });
    const ds = await openDataset('cub200', { root: tmp.dir });
    const test = ds.evaluation.query;
    const loader = evaluationLoader(test, { batchSize: 4, transform: testTransform({ resize: 8, crop: 8 }) });
    await assert.rejects(loader.next(), (err: unknown) => {
      assert.ok(err instanceof ImageDecodeError);
      assert.equal(err.path, 'CUB_200_2011/images/101.White_Pelican/White_Pelican_0001_7.jpg');
      assert.equal(path.isAbsolute(err.path), false);
      return true;
    });
    assert.deepEqual([loader.state().epoch, loader.state().batch], [0, 0], 'the failed batch is not counted as delivered');
    loader.close();
  } finally {
    tmp.cleanup();
  }
});

