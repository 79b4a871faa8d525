// Synchronised batch norm is exact: over 2 ranks, each holding its share of both segments of a
// two-branch BN (2 + 2 and 3 + 2 of 5 + 4 rows), the outputs, the input gradients, the summed scale
// and shift gradients and the running statistics equal those of libtorch's own batch norm in one
// process on the whole float64 batch, to 1e-9. Without the synchronisation they differ. An input
// changed in place before the backward pass is refused with autograd's error, not a wrong gradient.
// With bfloat16 activations (mixed precision) the ranks return bfloat16 within its rounding of one
// process's float32 results, with float32 running statistics.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { launchWorkers } from '../../src/parallel/index.js';
import { buildCase, CHANNELS, SEGMENTS } from './sync-bn-case.js';

const WORKER = fileURLToPath(new URL('./sync-bn-worker.js', import.meta.url));
const ROW = CHANNELS * 3 * 2;

type RankResult = Record<string, number[]> & {
  rows: number[];
  output: number[];
  plainOutput: number[];
  inputGrad: number[];
  inPlaceError: string;
  bf16: { dtypes: string[]; output: number[]; inputGrad: number[] };
};

/** What one process computes with the ordinary batch norm on the whole batch. */
function singleProcess(): Record<string, number[]> {
  const { bn, x, dy } = buildCase();
  bn.train();
  bn.routing = { kind: 'segments', segments: SEGMENTS };
  const input = x.detach().setRequiresGrad(true);
  const output = bn.forward(input);
  output.mul(dy).sum().backward();
  return Object.fromEntries([
    ['output', output.toNumbers()],
    ['inputGrad', input.grad!.toNumbers()],
    ...bn.namedParameters().map(([n, p]) => [`${n}.grad`, p.grad!.toNumbers()] as const),
    ...bn.namedBuffers().map(([n, b]) => [n, b.toNumbers()] as const),
  ]);
}

function assertClose(actual: readonly number[], expected: readonly number[], what: string, tolerance: number): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const worst = Math.max(...actual.map((v, i) => Math.abs(v - expected[i]!)));
  assert.ok(worst < tolerance, `${what}: largest difference ${worst}`);
}

test('2 ranks of synchronised BN give the outputs and gradients of one process on the whole batch (float64, two segments)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mdprop-syncbn-'));
  process.env.RESULT_DIR = dir;
  try {
    const launched = await launchWorkers({ nproc: 2, command: [WORKER], graceMs: 30_000 });
    assert.equal(launched.exitCode, 0);
  } finally {
    delete process.env.RESULT_DIR;
  }
  const ranks = [0, 1].map((r) => JSON.parse(readFileSync(join(dir, `rank-${r}.json`), 'utf8')) as RankResult);
  assert.deepEqual(ranks.map((r) => r.rows), [[0, 1, 5, 6], [2, 3, 4, 7, 8]]);
  const expected = singleProcess();
  for (const [rank, r] of ranks.entries()) {
    const mine = (all: number[]) => r.rows.flatMap((row) => all.slice(row * ROW, (row + 1) * ROW));
    assertClose(r.output, mine(expected.output!), `rank ${rank} output`, 1e-9);
    assertClose(r.inputGrad, mine(expected.inputGrad!), `rank ${rank} input gradient`, 1e-9);
    for (const name of ['running_mean', 'running_var', 'num_batches_tracked', 'aux.0.running_mean', 'aux.0.running_var']) {
      assertClose(r[name]!, expected[name]!, `rank ${rank} ${name}`, 1e-9);
    }
  }
  // Scale and shift: each rank holds its rows' share; the gradient all-reduce of training sums them.
  for (const name of ['weight.grad', 'bias.grad', 'aux.0.weight.grad', 'aux.0.bias.grad']) {
    const summed = ranks[0]![name]!.map((v, i) => v + ranks[1]![name]![i]!);
    assertClose(summed, expected[name]!, `summed ${name}`, 1e-9);
  }
  for (const r of ranks) assert.match(r.inPlaceError, /modified by an inplace operation/);
  // bfloat16 activations: float32 statistics over the ranks, bfloat16 results within bfloat16 rounding of one process's float32 ones.
  const { bn, x, dy } = buildCase();
  bn.to('float32').train();
  bn.routing = { kind: 'segments', segments: SEGMENTS };
  const input = x.to('bfloat16').to('float32').detach().setRequiresGrad(true);
  const output = bn.forward(input);
  output.mul(dy.to('float32')).sum().backward();
  const [wantOut, wantGrad] = [output.toNumbers(), input.grad!.toNumbers()];
  for (const [rank, r] of ranks.entries()) {
    const mine = (all: number[]) => r.rows.flatMap((row) => all.slice(row * ROW, (row + 1) * ROW));
    assert.deepEqual(r.bf16.dtypes, ['bfloat16', 'bfloat16', 'float32'], `rank ${rank} dtypes`);
    assertClose(r.bf16.output, mine(wantOut), `rank ${rank} bf16 output`, 0.05);
    assertClose(r.bf16.inputGrad, mine(wantGrad), `rank ${rank} bf16 input gradient`, 0.05);
  }
  // The check can fail: each rank's own statistics give other outputs.
  for (const [rank, r] of ranks.entries()) {
    const mine = r.rows.flatMap((row) => expected.output!.slice(row * ROW, (row + 1) * ROW));
    const apart = Math.max(...r.plainOutput.map((v, i) => Math.abs(v - mine[i]!)));
    assert.ok(apart > 1e-2, `rank ${rank}: per-rank statistics differ by only ${apart}`);
  }
});
