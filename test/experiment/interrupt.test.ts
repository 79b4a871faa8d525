// Stopping an experiment by signal loses nothing: SIGTERM in training writes the run's checkpoint
// and exits 143 naming how to go on; the same command then resumes that run (its progress rate
// counting only the steps it trains) and finishes the experiment. Ctrl-C during an evaluation
// drops it at the next batch; an evaluation aborted by its signal rejects with the signal's
// reason and writes no eval.json.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { evaluate } from '../../src/evaluate/index.js';
import { disposeCheckpoint, loadCheckpoint, RunDirectory } from '../../src/formats/index.js';
import { spawnMdprop, spawnMdpropUntil } from '../helpers/cli.js';
import { tempDir } from '../train/helpers.js';

const out = join(tempDir('experiment-interrupt'), 'exp');
const args = ['experiment', '--dataset', 'mnist', '--methods', 'baseline', '--seeds', '0', '--epochs', '3', '--batch-size', '8', '--limit-train', '64', '--limit-test', '400',
  '--eval-batch-size', '20', '--embed-dim', '16', '--attacks', 'stax', '--eps', '0.1', '--iters', '2', '--limit', '8', '--threads', '1', '--no-views', '--out', out];

describe('mdprop experiment, interrupted', () => {
  it('SIGTERM in training: a checkpoint, exit 143, and the same command finishes from it', async () => {
    // The experiment's bar prints a plain line about every tenth of its steps; the second one means training is under way.
    const stopped = await spawnMdpropUntil(args, /experiment: [1-9]\d*\/\d+ step[^\n]*\n[^]*experiment: [1-9]\d*\/\d+ step/, 'SIGTERM');
    assert.ok(stopped.sent, `no training progress was logged:\n${stopped.stderr}`);
    assert.equal(stopped.code, 143, stopped.stderr);
    assert.match(stopped.stderr, /stopping after the current step, with a checkpoint \(baseline seed 0: epoch \d\/3\)/);
    assert.match(stopped.stderr, /checkpoint written to .*baseline\/seed-0\/checkpoint/);
    assert.match(stopped.stderr, /experiment stopped; finished runs are kept\. Go on with the same command/);
    const run = join(out, 'baseline/seed-0');
    const checkpoint = loadCheckpoint(run);
    const stepsBefore = checkpoint.trainer.step;
    disposeCheckpoint(checkpoint);
    assert.ok(stepsBefore >= 1 && !existsSync(join(run, 'summary.json')), 'the run stopped part-way with its steps kept');

    const resumed = spawnMdprop(args, { quiet: false });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.ok(existsSync(join(out, 'experiment.json')));
    const summary = new RunDirectory(run).readSummary();
    assert.equal(summary.epochs, 3);
    // Rates over the resumed call count only what it trained: never the thousands of steps per
    // second that counting the checkpoint's steps as done in no time would show.
    const rates = [...resumed.stderr.matchAll(/experiment: \d+\/\d+ step \(([\d.]+) step\/s/g)].map((m) => Number(m[1]));
    assert.ok(rates.length > 0, resumed.stderr);
    assert.ok(Math.max(...rates) < 1000, `rates ${rates.join(', ')}`);
  });

  it('Ctrl-C while evaluating: the evaluation is dropped at its next batch and the last eval.json kept', async () => {
    const run = join(out, 'baseline/seed-0');
    const before = readFileSync(join(run, 'eval.json'), 'utf8');
    // Other iterations make the finished run's evaluation stale; 320 queries make 5 attacked
    // batches of 64 that keep it busy for seconds, so the signal lands between two of them.
    const heavier = args.map((a, i) => ({ '--iters': '10', '--limit': '320' })[args[i - 1]!] ?? a);
    const stopped = await spawnMdpropUntil(heavier, /baseline seed 0: evaluating/, 'SIGINT', 1500);
    assert.ok(stopped.sent, stopped.stderr);
    assert.equal(stopped.code, 130, stopped.stderr);
    assert.match(stopped.stderr, /the evaluation in progress is dropped \(baseline seed 0: evaluating, (embedding the gallery|clean \(1\/2\)|stax eps 0\.1 \(2\/2\))\)/);
    assert.equal(readFileSync(join(run, 'eval.json'), 'utf8'), before);
  });

  it('an evaluation whose signal aborts rejects with its reason and writes nothing', async () => {
    const run = join(out, 'baseline/seed-0');
    const evalOut = join(tempDir('experiment-interrupt-eval'), 'eval.json');
    const controller = new AbortController();
    const reason = new Error('stop here');
    let reports = 0;
    const options = { attacks: ['stax' as const], eps: [0.1], iters: 2, limit: 8, out: evalOut, signal: controller.signal };
    await assert.rejects(
      evaluate(run, { ...options, onProgress: () => (++reports === 1 ? controller.abort(reason) : undefined) }),
      (err) => err === reason,
    );
    assert.equal(reports, 1, 'no batch ran after the abort');
    assert.ok(!existsSync(evalOut));
  });
});
