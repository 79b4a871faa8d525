// c10d collectives between real worker processes (Gloo over loopback), started by the launcher in
// a torchrun-style environment; every expected value is worked out by hand from the ranks'
// inputs. Also: a peer that dies makes the survivor's collective fail with a named error.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { availableBackends, launchWorkers, ProcessGroup, DistributedError } from '../../src/parallel/index.js';

const WORKER = fileURLToPath(new URL('./collectives-worker.js', import.meta.url));

async function runWorkers(nproc: number, env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'mdprop-c10d-'));
  Object.assign(process.env, { RESULT_DIR: dir, ...env });
  try {
    const result = await launchWorkers({ nproc, command: [WORKER], graceMs: 30_000 });
    const ranks = Array.from({ length: nproc }, (_, r) => {
      try {
        return JSON.parse(readFileSync(join(dir, `rank-${r}.json`), 'utf8')) as Record<string, unknown>;
      } catch {
        return null;
      }
    });
    return { result, ranks };
  } finally {
    for (const key of ['RESULT_DIR', ...Object.keys(env)]) delete process.env[key];
  }
}

test('this build has Gloo', () => {
  assert.ok(availableBackends().includes('gloo'));
});

test('all_reduce, broadcast, all_gather, packed broadcast, bucketed gradients and sharded embedding over 3 ranks', async () => {
  const { result, ranks } = await runWorkers(3);
  assert.equal(result.exitCode, 0);
  for (const [rank, r] of ranks.entries()) {
    assert.ok(r, `rank ${rank} wrote no result`);
    assert.deepEqual(r.sum, [1 + 2 + 3, 10 + 20 + 30]);
    assert.deepEqual(r.mean, [2]);
    assert.deepEqual(r.max, [2, 0]);
    assert.deepEqual(r.broadcast, [7, 8, 9]);
    assert.deepEqual(r.gather, [[0, 0.5], [1, 1.5], [2, 2.5]]);
    assert.deepEqual(r.packed, [[0, 0, 0, 0], [0], [100]]);
    assert.equal(r.buckets, 3); // 12, 16 and 4 bytes against a 16-byte cap
    assert.deepEqual(r.grads, [[1 + 2 + 3, 2 + 3 + 4, 3 + 4 + 5], [3, 3, 3, 3], [5]]);
    assert.deepEqual(r.anyRank, [true, false]);
    // 7 rows over 3 ranks: rows 0-1 from rank 0, 2-3 from rank 1, 4-6 from rank 2, in split order.
    const labels = r.labels as number[];
    const embedded = r.embedded as number[];
    assert.deepEqual(embedded.filter((_, i) => i % 2 === 0), labels);
    assert.deepEqual(embedded.filter((_, i) => i % 2 === 1), [0, 0, 1, 1, 2, 2, 2]);
  }
});

test('a rank that dies makes the collective of the other fail with an error naming it and the rank', async () => {
  const { result, ranks } = await runWorkers(2, { MODE: 'die', TIMEOUT_MS: '5000' });
  assert.equal(result.exitCode, 3);
  assert.deepEqual(result.exits.map((e) => e.code), [0, 3]);
  const survivor = ranks[0];
  assert.ok(survivor);
  assert.equal(survivor.name, 'DistributedError');
  assert.match(String(survivor.error), /^all_reduce on rank 0 of 2 \(gloo\): /);
});

test('bad process-group settings are refused before any connection, naming what is wrong', () => {
  const base = { backend: 'gloo' as const, rank: 0, worldSize: 2, masterAddr: '127.0.0.1', masterPort: 29500, timeoutMs: 1000 };
  assert.throws(() => ProcessGroup.init({ ...base, rank: 2 }), /rank must be an integer in 0\.\.1, got 2/);
  assert.throws(() => ProcessGroup.init({ ...base, masterPort: 70000 }), /master port must be in 1\.\.65535/);
  assert.throws(() => ProcessGroup.init({ ...base, timeoutMs: 0 }), /timeout must be positive/);
  if (!availableBackends().includes('nccl')) {
    assert.throws(() => ProcessGroup.init({ ...base, backend: 'nccl' }), (err: Error) => err instanceof DistributedError && /backend 'nccl' is not in this build/.test(err.message));
  }
});
