// How a run is cut into ranks, without starting any: the launch environment, the rows of a batch
// each rank trains on, and the sharded sampler whose state is the global sampler's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClassBalancedSampler, ClassRandomSampler, restoreSampler } from '../../src/data/index.js';
import { ShardedSampler, shardOf, workerPlace } from '../../src/parallel/index.js';

test('workerPlace reads the torchrun environment and names the variable at fault', () => {
  assert.equal(workerPlace({}), null);
  assert.equal(workerPlace({ WORLD_SIZE: '1' }), null);
  const env = { WORLD_SIZE: '4', RANK: '3', LOCAL_RANK: '1', MASTER_ADDR: 'node0', MASTER_PORT: '29500' };
  assert.deepEqual(workerPlace(env), { rank: 3, worldSize: 4, localRank: 1, masterAddr: 'node0', masterPort: 29500 });
  assert.equal(workerPlace({ ...env, LOCAL_RANK: undefined })?.localRank, 3);
  assert.throws(() => workerPlace({ ...env, RANK: '4' }), /RANK=4 must be below WORLD_SIZE=4/);
  assert.throws(() => workerPlace({ ...env, RANK: undefined }), /environment variable RANK is required/);
  assert.throws(() => workerPlace({ ...env, RANK: 'x' }), /RANK='x' must be an integer/);
  assert.throws(() => workerPlace({ ...env, MASTER_ADDR: '' }), /MASTER_ADDR is required/);
  assert.throws(() => workerPlace({ ...env, MASTER_PORT: '70000' }), /MASTER_PORT=70000 must be in 1\.\.65535/);
});

test('shards cover every row once, contiguous, sizes differing by at most one', () => {
  for (const [size, world] of [[16, 2], [7, 3], [2, 4], [64, 8]] as const) {
    const shards = Array.from({ length: world }, (_, r) => shardOf(size, r, world));
    let next = 0;
    for (const s of shards) {
      assert.equal(s.start, next);
      next += s.count;
    }
    assert.equal(next, size);
    const counts = shards.map((s) => s.count);
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `${size} over ${world}: ${counts}`);
  }
});

test('the sharded samplers of 2 ranks split each global batch without overlap, over epochs, and save the global state', () => {
  const labels = Int32Array.from({ length: 90 }, (_, i) => i % 9);
  const options = { batchSize: 12, samplesPerClass: 2, seed: 4 };
  const reference = new ClassBalancedSampler(labels, options);
  const ranks = [0, 1].map((r) => new ShardedSampler(new ClassBalancedSampler(labels, options), labels, shardOf(12, r, 2)));
  const batches = reference.batchesInEpoch(0) * 2 + 1; // into the third epoch
  for (let i = 0; i < batches; i++) {
    const whole = reference.next();
    const parts = ranks.map((s) => s.next());
    assert.deepEqual([...parts[0]!.indices, ...parts[1]!.indices], [...whole.indices]);
    assert.equal(parts[0]!.step, whole.step);
    assert.equal(parts[1]!.lastInEpoch, whole.lastInEpoch);
    // Whole classes on each rank: the m = 2 images of a group stay together.
    for (const part of parts) for (let j = 0; j < part.indices.length; j += 2) assert.equal(labels[part.indices[j]!], labels[part.indices[j + 1]!]);
  }
  assert.deepEqual(ranks[1]!.state(), reference.state());
  // A checkpoint written by rank 0 resumes one process exactly where the two ranks were.
  const resumed = restoreSampler(labels, ranks[0]!.state());
  assert.deepEqual([...resumed.next().indices], [...reference.next().indices]);
});

test('sharding the with-replacement sampler (--sampling with-replacement) keeps its kind and state', () => {
  const labels = Int32Array.from({ length: 60 }, (_, i) => i % 6);
  const options = { batchSize: 8, samplesPerClass: 2, seed: 9 };
  const reference = new ClassRandomSampler(labels, options);
  const ranks = [0, 1].map((r) => new ShardedSampler(new ClassRandomSampler(labels, options), labels, shardOf(8, r, 2)));
  for (let i = 0; i < 12; i++) {
    const whole = reference.next();
    assert.deepEqual(ranks.flatMap((s) => [...s.next().indices]), [...whole.indices]);
  }
  assert.deepEqual(ranks[0]!.state(), reference.state());
  assert.deepEqual([...restoreSampler(labels, ranks[1]!.state()).next().indices], [...reference.next().indices]);
});
