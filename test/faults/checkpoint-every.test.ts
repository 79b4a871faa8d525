// --checkpoint-every bounds what a SIGKILL loses: killed in the middle of an epoch, the run keeps
// a checkpoint from within that epoch, and resuming from it ends exactly as an uninterrupted run.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RunDirectory } from '../../src/formats/index.js';
import { disposeCheckpoint, loadCheckpoint } from '../../src/formats/index.js';
import { runMdprop, spawnMdprop } from '../helpers/cli.js';
import { TINY_FLAGS, tempDir, timeless } from '../train/helpers.js';

const KILL_AT = fileURLToPath(new URL('./kill-at.js', import.meta.url));
const flags = Object.entries(TINY_FLAGS).flatMap(([field, value]) => [`--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, value!]);

describe('--checkpoint-every', () => {
  it('keeps a mid-epoch checkpoint through a SIGKILL, and the resumed run equals an uninterrupted one', () => {
    const reference = join(tempDir('every-ref'), 'run');
    assert.equal(spawnMdprop(['train', ...flags, '--out', reference]).code, 0);

    // A checkpoint takes 8 renames (6 files, then 2 folders): the 26th falls in the fourth
    // checkpoint, so three are complete: at the start and after steps 1 and 2 of epoch 1.
    const out = join(tempDir('every-kill'), 'run');
    const killed = spawnMdprop(['train', ...flags, '--checkpoint-every', '1', '--out', out], { nodeArgs: ['--import', KILL_AT], env: { MDPROP_KILL_AT: 'rename:26' } });
    assert.equal(killed.code, 137, killed.stderr);
    const checkpoint = loadCheckpoint(out);
    const { step, epoch, partialEpoch } = checkpoint.trainer;
    disposeCheckpoint(checkpoint);
    assert.deepEqual([step, epoch, partialEpoch?.steps], [2, 0, 2], 'the kill lost less than an epoch');

    const resumed = spawnMdprop(['train', '--resume', out]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(timeless(new RunDirectory(out).readMetrics()), timeless(new RunDirectory(reference).readMetrics()));
  });

  it('takes steps or minutes and names the flag otherwise', async () => {
    const r = await runMdprop(['train', ...flags, '--checkpoint-every', '10s', '--out', join(tempDir('every-bad'), 'run')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--checkpoint-every: expected an integer >= 0 \(steps\) or minutes such as '10m', got '10s'/);
  });
});
