// `mdprop bench`: the JSON keys of the contract and flag errors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runMdprop, spawnMdprop } from '../helpers/cli.js';

const tiny = ['bench', '--arch', 'resnet-small', '--image-size', '16', '--batch-size', '4', '--steps', '1', '--warmup', '0', '--channels', '1', '--threads', '1', '--embed-dim', '8'];

describe('mdprop bench', () => {
  it('prints ms_per_step, images_per_s, peak_rss_mb and the settings as JSON', () => {
    const r = spawnMdprop([...tiny, '--method', 'mdprop', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const key of ['ms_per_step', 'images_per_s', 'peak_rss_mb']) assert.ok(typeof report[key] === 'number' && (report[key] as number) > 0, key);
    assert.deepEqual(
      { method: report.method, arch: report.arch, image_size: report.image_size, batch_size: report.batch_size, steps: report.steps, threads: report.threads },
      { method: 'mdprop', arch: 'resnet-small', image_size: 16, batch_size: 4, steps: 1, threads: 1 },
    );
    assert.equal(report.forward_images_per_step, 8, 'mdprop adds a STAX and an MTAX half');
  });

  it('--profile adds the aten ops of a step, largest self time first', () => {
    const r = spawnMdprop([...tiny, '--method', 'baseline', '--steps', '2', '--json', '--profile']);
    assert.equal(r.code, 0, r.stderr);
    const ops = (JSON.parse(r.stdout) as { ops: { name: string; calls_per_step: number; self_ms_per_step: number; total_ms_per_step: number }[] }).ops;
    assert.ok(ops.length > 5 && ops.length <= 30, `${ops.length} ops`);
    const conv = ops.find((o) => o.name === 'aten::convolution_backward');
    assert.ok(conv, ops.map((o) => o.name).join(', '));
    assert.ok(conv.calls_per_step >= 1, 'a per-step count, not a total over the two steps');
    for (let i = 1; i < ops.length; i++) assert.ok(ops[i - 1]!.self_ms_per_step >= ops[i]!.self_ms_per_step);
    for (const o of ops) assert.ok(o.self_ms_per_step <= o.total_ms_per_step + 0.01, o.name);
  });

  it('prints key: value lines without --json', () => {
    const r = spawnMdprop([...tiny, '--method', 'baseline']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ms_per_step: [\d.]+$/m);
  });

  it('names a bad flag (exit 2)', async () => {
    const bad = await runMdprop([...tiny, '--method', 'nope']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--method: unknown method 'nope'/);
    const odd = await runMdprop([...tiny, '--batch-size', '5']);
    assert.equal(odd.code, 2);
    assert.match(odd.stderr, /--batch-size: expected an even number/);
  });
});
