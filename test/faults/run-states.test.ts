// Runs killed at chosen moments (SIGKILL, through test/faults/kill-at.ts) and started twice at
// once. Every state a kill leaves must be continued by what a user would type next — the same
// fresh command when the folder has no config.json, `--resume` when it has — and the finished
// run must equal one that was never interrupted. A second writer of a live run is refused, and so
// are settings no machine can serve.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RunDirectory } from '../../src/formats/index.js';
import { lockRun, RunLockedError } from '../../src/train/index.js';
import { CLI_MAIN, runMdprop, spawnMdprop, type CliRun } from '../helpers/cli.js';
import { TINY_FLAGS, tempDir, timeless } from '../train/helpers.js';

const KILL_AT = fileURLToPath(new URL('./kill-at.js', import.meta.url));
const flagArgs = Object.entries(TINY_FLAGS).flatMap(([field, value]) => [`--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, value!]);

/** What a user types next: the fresh command again while no config.json exists, else --resume. */
function next(out: string, killAt?: string): CliRun {
  const args = RunDirectory.holdsRun(out) ? ['train', '--resume', out] : ['train', ...flagArgs, '--out', out];
  return spawnMdprop(args, killAt ? { nodeArgs: ['--import', KILL_AT], env: { MDPROP_KILL_AT: killAt } } : {});
}

/** A small seeded generator, so a failing kill point can be replayed from the message. */
function pick(seed: number, from: number, to: number): number {
  const x = Math.sin(seed * 12.9898) * 43758.5453;
  return from + Math.floor((x - Math.floor(x)) * (to - from + 1));
}

describe('runs under kills and concurrent starts', () => {
  const reference = join(tempDir('faults-ref'), 'run');

  it('continue from every state a kill leaves and end as an uninterrupted run', () => {
    const ref = next(reference);
    assert.equal(ref.code, 0, ref.stderr);
    const seed = Date.now() % 1000;
    // In order: the lock half written; config.json half written; config.json in place, the first
    // checkpoint being written; a complete first checkpoint not yet renamed; a random rename
    // and a random write later in the run.
    const kills = ['write:1', 'write:2', 'rename:2', 'rename:8', `rename:${pick(seed, 9, 25)}`, `write:${pick(seed + 1, 3, 60)}`];
    const out = join(tempDir('faults-kill'), 'run');
    let log = '';
    for (const killAt of kills) {
      const r = next(out, killAt);
      log += `--- ${killAt}\n${r.stderr}`;
      if (r.code === 0) break; // the run ended before that point
      assert.equal(r.code, 137, `seed ${seed}, ${killAt}: ${r.stderr}`);
    }
    const done = next(out);
    assert.equal(done.code, 0, `seed ${seed}, kills ${kills.join(' ')}:\n${log}${done.stderr}`);
    assert.deepEqual(timeless(new RunDirectory(out).readMetrics()), timeless(new RunDirectory(reference).readMetrics()), `seed ${seed}`);
    assert.match(log, /taking over an unreadable lock file/);
    assert.match(log, /taking over the lock of .* from process \d+, which is no longer running/);
    assert.match(log, /stopped before its first checkpoint; starting it (from the beginning|afresh)/);
    assert.deepEqual(readdirSync(out).filter((f) => f === 'lock' || f.includes('.tmp-') || f.startsWith('checkpoint.')), []);
  });

  it('let one of two simultaneous resumes run and refuse the other, naming it', async () => {
    const start = (): Promise<CliRun & { pid: number }> =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, [CLI_MAIN, 'train', '--resume', reference, '--epochs', '3'], { env: { ...process.env, MDPROP_QUIET: '1' } });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
        child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
        child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr, pid: child.pid! }));
      });
    const [a, b] = await Promise.all([start(), start()]);
    const [won, lost] = a.code === 0 ? [a, b] : [b, a];
    assert.equal(won.code, 0, won.stderr);
    assert.equal(lost.code, 1, lost.stderr);
    assert.match(lost.stderr, new RegExp(`is in use by process ${won.pid} on ${hostname()}`));
    const kinds = new RunDirectory(reference).readMetrics().map((l) => `${l.kind} ${l.epoch}`);
    assert.deepEqual(kinds, ['epoch 1', 'eval 1', 'epoch 2', 'eval 2', 'epoch 3', 'eval 3']);
  });

  it('refuse a second writer in the same process and a live holder elsewhere', async () => {
    const dir = tempDir('faults-lock');
    const lock = lockRun(dir);
    assert.throws(() => lockRun(dir), (err: Error) => err instanceof RunLockedError && err.holder.pid === process.pid);
    lock.release();
    assert.ok(!existsSync(join(dir, 'lock')));
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: sleeper.pid, host: hostname(), since: 'now' }));
      assert.throws(() => lockRun(dir), new RegExp(`in use by process ${sleeper.pid}`));
      writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: sleeper.pid, host: 'elsewhere', since: 'now' }));
      assert.throws(() => lockRun(dir), /in use by process \d+ on elsewhere/);
    } finally {
      sleeper.kill();
    }
    await new Promise((resolve) => sleeper.on('exit', resolve));
    writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: sleeper.pid, host: hostname(), since: 'now' }));
    const warnings: string[] = [];
    lockRun(dir, (line) => warnings.push(line)).release();
    assert.match(warnings.join('\n'), new RegExp(`from process ${sleeper.pid}, which is no longer running`));
  });
});

describe('bounded settings', () => {
  it('refuse sizes and thread counts no machine can serve, naming the flag, before making the run directory', async () => {
    const out = join(tempDir('faults-bounds'), 'run');
    const cases: [string[], RegExp][] = [
      [['--threads', '100000'], /^mdprop: --threads: expected an integer in 1\.\.1024, got '100000'$/m],
      [['--threads', '1e15'], /^mdprop: --threads: expected an integer in 1\.\.1024, got '1e15'$/m],
      [['--threads', '1000'], /^mdprop: --threads 1000 is more than 4 per core of this machine/m],
      [['--embed-dim', '1e9'], /^mdprop: --embed-dim: expected an integer in 1\.\.8192, got '1e9'$/m],
      [['--image-size', '100000'], /^mdprop: --image-size: expected an integer in 1\.\.1024/m],
      [['--batch-size', '65536', '--image-size', '1024', '--test-resize', '1024'], /^mdprop: --batch-size 65536 of 1x1024x1024 images \(--image-size\) takes 256\.0 GiB as input alone/m],
    ];
    for (const [extra, expected] of cases) {
      const r = await runMdprop(['train', ...flagArgs, '--out', out, ...extra]);
      assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, expected);
      assert.ok(!existsSync(out), `${extra.join(' ')} made the run directory`);
    }
  });
});
