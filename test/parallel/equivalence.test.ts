// Data parallelism is exact: 2 ranks with 8 images each train a model without batch norm to the
// same weights as one process with the batch of 16, step for step (the loss of each rank covers
// the global batch, the gradients are summed over ranks), whether the gradients are reduced during
// the backward pass or after it. Real data, real augmentations, Adam.
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

for (const overlap of [true, false]) {
  const how = overlap ? "c10d's Reducer during the backward pass" : 'bucketed all-reduce after the backward pass';
  test(`2 ranks x 8 images give the weights of 1 process x 16 images after 20 steps, to 1e-5 (${how})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mdprop-ddp-'));
    const alone = join(dir, 'alone.json');
    const { WORLD_SIZE: _w, RANK: _r, ...env } = process.env;
    const single = spawnSync(process.execPath, [WORKER], { env: { ...env, RESULT_FILE: alone, STEPS: '20' }, encoding: 'utf8' });
    assert.equal(single.status, 0, single.stderr);

    const pair = join(dir, 'pair.json');
    Object.assign(process.env, { RESULT_FILE: pair, STEPS: '20', OVERLAP: overlap ? '1' : '0' });
    try {
      const launched = await launchWorkers({ nproc: 2, command: [WORKER], graceMs: 60_000 });
      assert.equal(launched.exitCode, 0);
    } finally {
      for (const key of ['RESULT_FILE', 'STEPS', 'OVERLAP']) delete process.env[key];
    }

    const a = JSON.parse(readFileSync(alone, 'utf8')) as StepResult;
    const b = JSON.parse(readFileSync(pair, 'utf8')) as StepResult;
    assert.equal(a.worldSize, 1);
    assert.equal(a.batchRows, 16);
    assert.equal(b.worldSize, 2);
    assert.equal(b.batchRows, 8);
    assert.equal(b.losses.length, 20);
    b.losses.forEach((loss, i) => assert.ok(Math.abs(loss - a.losses[i]!) < 1e-5, `step ${i + 1}: loss ${loss} with 2 ranks, ${a.losses[i]} alone`));
    // The run must have learnt something for the comparison to mean anything.
    assert.ok(a.moved > 1e-2, `the weights moved by at most ${a.moved}`);
    let worst = 0;
    for (const [name, values] of Object.entries(a.weights)) {
      const other = b.weights[name];
      assert.ok(other, `${name} missing with 2 ranks`);
      values.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - other[i]!))));
    }
    assert.ok(worst < 1e-5, `largest weight difference ${worst}`);
  });
}
