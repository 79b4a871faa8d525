// `mdprop train`: flag errors exit 2 before any work (in this process), and as a user runs it
// (the binary in a child process) Ctrl-C writes a checkpoint and exits 130 with the resume
// command, --resume finishes the run, and SIGTERM stops it alike with 143.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RunDirectory } from '../../src/formats/index.js';
import { assertMatchesSchema } from '../helpers/json-schema.js';
import { disposeCheckpoint, loadCheckpoint } from '../../src/formats/index.js';
import { TINY_FLAGS, tempDir } from '../train/helpers.js';
import { runMdprop, spawnMdprop, spawnMdpropUntil } from '../helpers/cli.js';

function flagArgs(flags: Record<string, string | undefined>): string[] {
  return Object.entries(flags).flatMap(([field, value]) => [`--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, value!]);
}

describe('mdprop train', () => {
  it('exits 2 naming the flag or field at fault, before creating the run directory', async () => {
    const dir = tempDir('cli-train');
    const out = join(dir, 'run');
    const cases: [string[], RegExp][] = [
      [['--epochs', 'many'], /^mdprop: --epochs: expected an integer in 1\.\.1000000, got 'many'$/m],
      [['--method', 'fgsm'], /^mdprop: --method: expected one of baseline, advprop-d, mdprop, est, act, hm, or a method written as data, got 'fgsm'$/m],
      [['--batch-size', '9'], /^mdprop: --batch-size 9 is not a multiple of --samples-per-class \(default\) 2$/m],
      [['--pretrained', join(dir, 'absent.safetensors')], /^mdprop: --pretrained: file not found/m],
    ];
    for (const [extra, pattern] of cases) {
      const r = await runMdprop(['train', ...flagArgs({ ...TINY_FLAGS, out }), ...extra]);
      assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.ok(!existsSync(out), `${extra.join(' ')} created the run directory`);
    }
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ dataset: 'mnist', 'eval-every': 'often' }));
    const r = await runMdprop(['train', '--config', file, '--out', out]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--config .*config\.json: "eval-every": expected an integer >= 0, got 'often'/);

    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'config.json'), '{}');
    mkdirSync(join(out, 'checkpoint'));
    writeFileSync(join(out, 'checkpoint', 'manifest.json'), '{}');
    const taken = await runMdprop(['train', ...flagArgs({ ...TINY_FLAGS, out })]);
    assert.equal(taken.code, 2);
    assert.match(taken.stderr, /--out .* already holds a run \(a checkpoint or a model\); continue it with --resume/);
  });

  it('writes a checkpoint on SIGINT, exits 130 and resumes to the end', async () => {
    const out = join(tempDir('cli-sigint'), 'run');
    // The plain (non-TTY) progress prints a line per step here; stop once the first is logged.
    const { code, stderr, sent } = await spawnMdpropUntil(['train', ...flagArgs({ ...TINY_FLAGS, method: 'mdprop', out })], /epoch 1\/2: 1\/\d+ step/, 'SIGINT');
    assert.ok(sent, `no step was logged:\n${stderr}`);
    assert.equal(code, 130, stderr);
    assert.match(stderr, /stopping after the current step/);
    assert.match(stderr, new RegExp(`resume with: mdprop train --resume ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const checkpoint = loadCheckpoint(out);
    disposeCheckpoint(checkpoint);
    assert.equal(checkpoint.trainer.epoch, 0);
    assert.ok((checkpoint.trainer.partialEpoch?.steps ?? 0) >= 1, 'the checkpoint holds the finished steps');

    const resumed = spawnMdprop(['train', '--resume', out]);
    assert.equal(resumed.code, 0, resumed.stderr);
    const summary = JSON.parse(resumed.stdout) as { epochs: number; test: Record<string, number> };
    assertMatchesSchema('summary', summary);
    assert.equal(summary.epochs, 2);
    assert.ok(Number.isFinite(summary.test['recall@1']));
    assert.equal(new RunDirectory(out).readMetrics().length, 4);
  });

  it('treats SIGTERM (a scheduler, `timeout`, `docker stop`) as Ctrl-C: a checkpoint, then exit 143', async () => {
    const out = join(tempDir('cli-sigterm'), 'run');
    const { code, stderr, sent } = await spawnMdpropUntil(['train', ...flagArgs({ ...TINY_FLAGS, out })], /epoch 1\/2: 1\/\d+ step/, 'SIGTERM');
    assert.ok(sent, `no step was logged:\n${stderr}`);
    assert.equal(code, 143, stderr);
    assert.match(stderr, /SIGTERM again to quit at once/);
    const checkpoint = loadCheckpoint(out);
    disposeCheckpoint(checkpoint);
    assert.ok((checkpoint.trainer.partialEpoch?.steps ?? 0) >= 1, 'the checkpoint holds the finished steps');
  });

  it('--bn-replicas 3: trains MDProp in three replicas of the batch, records it and says so in the log', async () => {
    const out = join(tempDir('cli-replicas'), 'run');
    const r = await runMdprop(['train', ...flagArgs({ ...TINY_FLAGS, method: 'mdprop', epochs: '1', batchSize: '16', out }), '--bn-replicas', '3']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /3 replicas \(chunks of 6\/6\/4\)/);
    const run = new RunDirectory(out);
    assert.equal(run.readConfig().bnReplicas, 3);
    assert.deepEqual(run.readMetrics()[0]?.kind, 'epoch');
  });

  it('names a --resume folder that holds no run', async () => {
    const r = await runMdprop(['train', '--resume', tempDir('cli-none')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--resume .*: no config\.json there/);
  });
});
