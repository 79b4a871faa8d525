// Data parallelism is exact: 2 ranks with 8 images each train a model without batch norm to the
// same weights as one process with the batch of 16, step for step (the loss of each rank covers
// the global batch, the gradients are summed over ranks), whether the gradients are reduced during
// the backward pass or after it. With batch norm the same holds when the batch norms are
// synchronised (same weights and running statistics), and not when each rank normalises alone.
// Real data, real augmentations, Adam.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { launchWorkers } from '../../src/parallel/index.js';

const WORKER = fileURLToPath(new URL('./step-worker.js', import.meta.url));

interface StepResult {
  worldSize: number;
  batchRows: number;
  losses: number[];
  /** Largest change of a weight over the run. */
  moved: number;
  weights: Record<string, number[]>;
}

/** One process, then 2 ranks, of step-worker.ts with `env`; the single process never synchronises. */
async function alongside(env: Record<string, string>): Promise<{ a: StepResult; b: StepResult }> {
  const dir = mkdtempSync(join(tmpdir(), 'mdprop-ddp-'));
  const alone = join(dir, 'alone.json');
  const { WORLD_SIZE: _w, RANK: _r, ...parent } = process.env;
  const single = spawnSync(process.execPath, [WORKER], { env: { ...parent, ...env, SYNC_BN: '0', RESULT_FILE: alone, STEPS: '20' }, encoding: 'utf8' });
  assert.equal(single.status, 0, single.stderr);

  const pair = join(dir, 'pair.json');
  const set = { ...env, RESULT_FILE: pair, STEPS: '20' };
  Object.assign(process.env, set);
  try {
    const launched = await launchWorkers({ nproc: 2, command: [WORKER], graceMs: 60_000 });
    assert.equal(launched.exitCode, 0);
  } finally {
    for (const key of Object.keys(set)) delete process.env[key];
  }
  const a = JSON.parse(readFileSync(alone, 'utf8')) as StepResult;
  const b = JSON.parse(readFileSync(pair, 'utf8')) as StepResult;
  assert.deepEqual([a.worldSize, a.batchRows, b.worldSize, b.batchRows, b.losses.length], [1, 16, 2, 8, 20]);
  // The run must have learnt something for the comparison to mean anything.
  assert.ok(a.moved > 1e-2, `the weights moved by at most ${a.moved}`);
  return { a, b };
}

/** Largest difference between the two runs' weights and buffers. */
function weightGap(a: StepResult, b: StepResult): number {
  let worst = 0;
  for (const [name, values] of Object.entries(a.weights)) {
    const other = b.weights[name];
    assert.ok(other, `${name} missing with 2 ranks`);
    values.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - other[i]!))));
  }
  return worst;
}

function assertSameRun(a: StepResult, b: StepResult): void {
  b.losses.forEach((loss, i) => assert.ok(Math.abs(loss - a.losses[i]!) < 1e-5, `step ${i + 1}: loss ${loss} with 2 ranks, ${a.losses[i]} alone`));
  const worst = weightGap(a, b);
  assert.ok(worst < 1e-5, `largest weight difference ${worst}`);
}

for (const overlap of [true, false]) {
  const how = overlap ? "c10d's Reducer during the backward pass" : 'bucketed all-reduce after the backward pass';
  test(`2 ranks x 8 images give the weights of 1 process x 16 images after 20 steps, to 1e-5 (${how})`, async () => {
    const { a, b } = await alongside({ OVERLAP: overlap ? '1' : '0' });
    assertSameRun(a, b);
  });

  test(`with batch norm, 2 synchronised ranks x 8 images give the weights and running statistics of 1 process x 16 images after 20 steps, to 1e-5 (${how})`, async () => {
    const { a, b } = await alongside({ OVERLAP: overlap ? '1' : '0', BN: '1', SYNC_BN: '1' });
    assert.ok(Object.keys(a.weights).some((name) => name.endsWith('running_var')), 'the model has batch norms');
    assertSameRun(a, b);
  });
}

test('with batch norm, 2 ranks that each normalise alone train another model than 1 process', async () => {
  const { a, b } = await alongside({ BN: '1', SYNC_BN: '0' });
  const lossGap = Math.max(...b.losses.map((loss, i) => Math.abs(loss - a.losses[i]!)));
  assert.ok(lossGap > 1e-4, `losses differ by at most ${lossGap}`);
  assert.ok(weightGap(a, b) > 1e-4, 'weights differ');
});
