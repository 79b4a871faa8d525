// --precision and --memory-format on the command line: bad values exit 2 naming the flag before
// any work, and a bf16 channels-last bench step reports the mode it ran in and finite work figures.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runMdprop } from '../helpers/cli.js';

const TINY = ['--arch', 'resnet-small', '--image-size', '16', '--batch-size', '4', '--steps', '1', '--warmup', '0', '--threads', '1', '--embed-dim', '8'];

describe('precision and memory-format flags', () => {
  it('exit 2 naming the flag for an unknown value or fp16 on a CPU', async () => {
    const cases: [string[], RegExp][] = [
      [['bench', ...TINY, '--precision', 'fp8'], /^mdprop: --precision: unknown precision 'fp8'; expected one of fp32, bf16, fp16$/m],
      [['bench', ...TINY, '--precision', 'fp16'], /^mdprop: --precision: fp16 runs on CUDA devices only/m],
      [['bench', ...TINY, '--memory-format', 'nhwc'], /^mdprop: --memory-format: unknown memory format 'nhwc'; expected one of contiguous, channels-last$/m],
      [['eval', '--weights', 'absent.safetensors', '--dataset', 'mnist', '--precision', 'fp16'], /^mdprop: --precision: fp16 runs on CUDA devices only/m],
    ];
    for (const [args, pattern] of cases) {
      const r = await runMdprop(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
    }
  });

  it('a bf16 channels-last bench step reports its mode and its work', async () => {
    const r = await runMdprop(['bench', ...TINY, '--method', 'mdprop', '--precision', 'bf16', '--memory-format', 'channels-last', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(report.precision, 'bf16');
    assert.equal(report.memory_format, 'channels-last');
    assert.equal(report.task, 'step');
    assert.ok(typeof report.gflop_per_step === 'number' && report.gflop_per_step > 0);
    assert.ok(typeof report.gflop_per_s === 'number' && Number.isFinite(report.gflop_per_s));
  });
});
