// `mdprop train`: flag errors exit 2 before any work (in this process), and as a user runs it
// (the binary in a child process) Ctrl-C writes a checkpoint and exits 130 with the resume
// command, and --resume finishes the run.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RunDirectory } from '../../src/formats/index.js';
import { assertMatchesSchema } from '../helpers/json-schema.js';
import { disposeCheckpoint, loadCheckpoint } from '../../src/formats/index.js';
import { TINY_FLAGS, tempDir } from '../train/helpers.js';
import { CLI_MAIN, runMdprop, spawnMdprop } from '../helpers/cli.js';

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
    const child = spawn(process.execPath, [CLI_MAIN, 'train', ...flagArgs({ ...TINY_FLAGS, method: 'mdprop', out })], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MDPROP_QUIET: '' },
    });
    let stderr = '';
    let sent = false;
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      // The plain (non-TTY) progress prints a line per step here; stop once the first is logged.
      if (!sent && /epoch 1\/2: 1\/\d+ step/.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
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

  it('names a --resume folder that holds no run', async () => {
    const r = await runMdprop(['train', '--resume', tempDir('cli-none')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--resume .*: no config\.json there/);
  });
});
