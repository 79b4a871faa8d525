// `mdprop train --nproc 2` end to end: two worker processes (Gloo over loopback, 1 thread each)
// train a short Fashion-MNIST MDProp run that rank 0 alone writes; a worker killed mid-epoch
// makes the other stop by itself with a message naming the collective, and one process resumes
// the run from its last checkpoint. Flag errors exit 2 before any worker starts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RunDirectory } from '../../src/formats/index.js';
import { disposeCheckpoint, loadCheckpoint } from '../../src/formats/index.js';
import { CLI_MAIN, runMdprop, spawnMdprop } from '../helpers/cli.js';
import { tempDir } from '../train/helpers.js';

const KILL_AT = fileURLToPath(new URL('../faults/kill-at.js', import.meta.url));
const FLAGS = ['train', '--dataset', 'fashion-mnist', '--method', 'mdprop', '--epochs', '1', '--limit-train', '128', '--limit-test', '100', '--batch-size', '16', '--eval-batch-size', '50', '--threads', '1', '--embed-dim', '16'];

const configOf = (out: string) => JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { worldSize: number; batchSize: number };

test('mdprop train --nproc 2 trains an MDProp run written once, recording worldSize 2', () => {
  const out = join(tempDir('nproc'), 'run');
  const r = spawnMdprop([...FLAGS, '--nproc', '2', '--dist-timeout', '60', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const printed = r.stdout.trim().split('\n');
  assert.equal(printed.length, 1, 'only rank 0 prints the summary');
  assert.equal(JSON.parse(printed[0]!).method, 'mdprop');
  assert.match(r.stderr, /1 threads in each of 2 processes/);
  assert.deepEqual([configOf(out).worldSize, configOf(out).batchSize], [2, 16]);
  const metrics = new RunDirectory(out).readMetrics();
  assert.deepEqual(metrics.map((m) => m.kind), ['epoch', 'eval']);
  // 128 images in class-balanced batches of 16: 7 global steps (the last, incomplete batch is dropped), each rank took 8 images of each.
  assert.equal((metrics[0] as { steps: number }).steps, 7);
  const samples = (metrics[0] as { samples_per_branch: number[] }).samples_per_branch;
  assert.deepEqual(samples, [112, 56, 56], 'the global batch: 16 clean images and 8 + 8 attacked per step');
});

test('mdprop train --nproc 2 --sync-bn trains an MDProp run with batch norms synchronised over both processes', () => {
  const out = join(tempDir('nproc-syncbn'), 'run');
  const r = spawnMdprop([...FLAGS, '--nproc', '2', '--sync-bn', '--dist-timeout', '60', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /1 threads in each of 2 processes, batch norms synchronised/);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { worldSize: number; syncBn: boolean };
  assert.deepEqual([config.worldSize, config.syncBn], [2, true]);
  const metrics = new RunDirectory(out).readMetrics();
  assert.deepEqual(metrics.map((m) => m.kind), ['epoch', 'eval']);
  const epoch = metrics[0] as { steps: number; loss: number };
  assert.equal(epoch.steps, 7);
  assert.ok(Number.isFinite(epoch.loss), `epoch loss ${epoch.loss}`);
});

test('a worker killed mid-epoch stops the other within the c10d timeout, and --nproc 1 resumes the run', () => {
  const out = join(tempDir('nproc-kill'), 'run');
  // Only rank 0 writes; a checkpoint takes 8 renames, so the 26th falls in the checkpoint after
  // step 6, when those after steps 2 and 4 are complete.
  const killed = spawnMdprop([...FLAGS, '--nproc', '2', '--checkpoint-every', '2', '--dist-timeout', '20', '--out', out], {
    nodeArgs: ['--import', KILL_AT],
    env: { MDPROP_KILL_AT: 'rename:26' },
  });
  assert.notEqual(killed.code, 0);
  assert.match(killed.stderr, /worker rank 0 was killed by SIGKILL/);
  assert.match(killed.stderr, /worker rank 1 of 2 stopped: [a-z_ ]*(all_reduce|all_gather|broadcast)[a-z ]* on rank 1 of 2 \(gloo\): /);
  assert.match(killed.stderr, /mdprop train --resume .* \(with any --nproc\)/);
  assert.doesNotMatch(killed.stderr, /still running/, 'rank 1 stopped by itself, not ended by the launcher');
  const checkpoint = loadCheckpoint(out);
  const { step, partialEpoch } = checkpoint.trainer;
  disposeCheckpoint(checkpoint);
  assert.deepEqual([step, partialEpoch?.steps], [4, 4]);

  const resumed = spawnMdprop(['train', '--resume', out, '--nproc', '1']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming .* in epoch 1 after step 4/);
  assert.equal(configOf(out).worldSize, 1);
  const metrics = new RunDirectory(out).readMetrics();
  assert.deepEqual(metrics.map((m) => m.kind), ['epoch', 'eval']);
  assert.equal((metrics[0] as { steps: number }).steps, 7);
});

test('launch flags are checked before any worker starts', async () => {
  const out = join(tempDir('nproc-bad'), 'run');
  const bad = async (args: string[], pattern: RegExp) => {
    const r = await runMdprop([...FLAGS, ...args, '--out', out]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, pattern);
  };
  await bad(['--nproc', '0'], /--nproc: expected an integer in 1\.\.4096, got '0'/);
  await bad(['--nproc', '3'], /--batch-size 16 holds 8 classes of --samples-per-class 2, which do not split evenly over 3 processes; choose a batch of a multiple of 6 images/);
  await bad(['--nproc', '2', '--nnodes', '2', '--node-rank', '0'], /--nnodes above 1 needs --master-addr and --master-port/);
  await bad(['--nnodes', '2', '--node-rank', '2'], /--node-rank: expected an integer in 0\.\.1, got '2'/);
  await bad(['--nproc', '2', '--dist-timeout', '0'], /--dist-timeout: expected a positive number of seconds, got '0'/);
  await bad(['--nproc', '2', '--dist-backend', 'mpi'], /--dist-backend: expected gloo or nccl, got 'mpi'/);
});

test('Ctrl-C stops both workers after the same step with one checkpoint, and the launcher exits 130 after them', async () => {
  const out = join(tempDir('nproc-int'), 'run');
  // Its own process group, as a terminal's foreground job: SIGINT to the group reaches all three processes.
  const child = spawn(process.execPath, [CLI_MAIN, ...FLAGS, '--epochs', '3', '--nproc', '2', '--dist-timeout', '60', '--out', out], {
    detached: true,
    env: { ...process.env, MDPROP_QUIET: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  while (!existsSync(join(out, 'checkpoint')) && child.exitCode === null) await sleep(200);
  await sleep(3000);
  process.kill(-child.pid!, 'SIGINT');
  assert.equal(await exited, 130, stderr);
  assert.match(stderr, /training interrupted at epoch \d, step \d+; checkpoint written/);
  assert.equal(stderr.match(/training interrupted/g)?.length, 1, 'rank 0 alone reports it');
  const resumed = spawnMdprop(['train', '--resume', out, '--nproc', '2', '--dist-timeout', '60']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(new RunDirectory(out).readMetrics().filter((m) => m.kind === 'epoch').map((m) => m.epoch), [1, 2, 3]);
});
