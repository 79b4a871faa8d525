// Dynamic batching as the service uses it: which requests share a forward pass, and the bounds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DynamicBatcher, QueueFull, QueueTimeout } from '../../src/serve/index.js';

/** A batcher whose "model" records each batch and doubles its inputs. */
function recording(options: { maxBatch: number; maxWaitMs: number; maxQueue: number }) {
  const batches: number[][] = [];
  const sizes: number[] = [];
  const batcher = new DynamicBatcher<number, number>(
    (inputs) => {
      batches.push(inputs);
      return inputs.map((x) => 2 * x);
    },
    options,
    (size) => sizes.push(size),
  );
  return { batcher, batches, sizes };
}

describe('dynamic batcher', () => {
  it('runs a batch as soon as it is full, in order, and answers each request with its own output', async () => {
    const { batcher, batches, sizes } = recording({ maxBatch: 3, maxWaitMs: 60_000, maxQueue: 10 });
    const arrivals = [1, 2, 3, 4, 5, 6].map(() => batcher.arrive());
    const pending = [1, 2, 3, 4, 5, 6].map((x, i) => {
      const answer = batcher.submit(x);
      arrivals[i]!();
      return answer;
    });
    const answers = await Promise.all(pending);
    assert.deepEqual(answers, [2, 4, 6, 8, 10, 12]);
    assert.deepEqual(batches, [[1, 2, 3], [4, 5, 6]]);
    assert.deepEqual(sizes, [3, 3]);
  });

  it('does not hold a lone request when nothing else is on its way', async () => {
    const { batcher, batches } = recording({ maxBatch: 8, maxWaitMs: 60_000, maxQueue: 10 });
    assert.equal(await batcher.submit(7), 14, 'answered without waiting the 60 s');
    assert.deepEqual(batches, [[7]]);
  });

  it('waits for an announced request and puts it in the same batch', async () => {
    const { batcher, batches } = recording({ maxBatch: 8, maxWaitMs: 60_000, maxQueue: 10 });
    const arrived = batcher.arrive();
    const first = batcher.submit(1);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(batches, [], 'the batch waits while a request is being decoded');
    const second = batcher.submit(2);
    arrived();
    assert.deepEqual(await Promise.all([first, second]), [2, 4]);
    assert.deepEqual(batches, [[1, 2]]);
  });

  it('waits at most maxWaitMs for an announced request that does not come', async () => {
    const { batcher, batches } = recording({ maxBatch: 8, maxWaitMs: 30, maxQueue: 10 });
    const arrived = batcher.arrive();
    assert.equal(await batcher.submit(5), 10);
    assert.deepEqual(batches, [[5]]);
    arrived();
  });

  it('refuses beyond maxQueue, and a request that waited past its deadline', async () => {
    const { batcher } = recording({ maxBatch: 8, maxWaitMs: 60_000, maxQueue: 2 });
    const arrived = batcher.arrive(); // holds the batch open
    const held = [batcher.submit(1), batcher.submit(2)];
    await assert.rejects(batcher.submit(3), (err: unknown) => err instanceof QueueFull && /2 requests waiting/.test((err as Error).message));
    const { batcher: slow } = recording({ maxBatch: 8, maxWaitMs: 60_000, maxQueue: 8 });
    const arrivedSlow = slow.arrive();
    await assert.rejects(slow.submit(1, 20), (err: unknown) => err instanceof QueueTimeout);
    arrivedSlow();
    arrived();
    assert.deepEqual(await Promise.all(held), [2, 4]);
    await batcher.drain();
    assert.equal(batcher.depth, 0);
  });

  it('passes a failing batch\'s error to each of its requests', async () => {
    const batcher = new DynamicBatcher<number, number>(() => {
      throw new Error('model failed');
    }, { maxBatch: 2, maxWaitMs: 5, maxQueue: 4 });
    const results = await Promise.allSettled([batcher.submit(1), batcher.submit(2)]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
  });
});
