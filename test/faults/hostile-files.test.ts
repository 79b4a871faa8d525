// Model files a hostile writer could craft, a few hundred bytes each, whose headers claim a model
// of the writer's choosing. Each must be refused by name before anything is allocated for it: the
// loading child's peak resident set may grow by little more than the largest real model it builds.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const dir = mkdtempSync(join(tmpdir(), 'mdprop-hostile-'));
const CHILD = fileURLToPath(new URL('./load-child.js', import.meta.url));

function craft(name: string, header: Record<string, unknown>, dataBytes = 0): string {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([len, json, Buffer.alloc(dataBytes)]));
  return path;
}

const meta = (extra: Record<string, string> = {}) => ({ format: 'mdprop.model/1', arch: 'resnet50', embed_dim: '128', in_channels: '3', ...extra });
const one = { dtype: 'F32', shape: [1], data_offsets: [0, 4] };

/** File, BN branch asked for, what the error must say, the architecture asked for. */
const CASES: [string, number, RegExp, string?][] = [
  [craft('dim8m.safetensors', { __metadata__: meta({ embed_dim: '8000000' }), x: one }, 4), 0, /"metadata\.embed_dim": .*8192/],
  [craft('dim64k.safetensors', { __metadata__: meta({ embed_dim: '65536' }), x: one }, 4), 0, /"metadata\.embed_dim"/],
  [craft('aux-huge.safetensors', { __metadata__: meta(), 'bn1.aux.99999998.weight': one }, 4), 0, /"bn1\.aux\.99999998\.weight": names BN branch 99999999; at most 64/],
  [craft('aux-62.safetensors', { __metadata__: meta(), 'layer1.0.bn1.aux.62.weight': one }, 4), 0, /shape mismatches \(1\): layer1\.0\.bn1\.aux\.62\.weight/],
  [craft('conv-empty.safetensors', { __metadata__: meta(), 'conv1.weight': { dtype: 'F32', shape: [0, 900000, 3, 3], data_offsets: [0, 0] } }), 0, /conv1\.weight \(model \[64, 3, 7, 7\], file \[0, 900000, 3, 3\]\)/],
  [craft('conv-channels.safetensors', { 'conv1.weight': { dtype: 'F32', shape: [0, 900000, 3, 3], data_offsets: [0, 0] }, 'fc.weight': { dtype: 'F32', shape: [128, 0], data_offsets: [0, 0] } }), 0, /in_channels.*900000 is outside 1\.\.4/, 'resnet50'],
  [craft('overlap.safetensors', { __metadata__: meta(), 'fc.bias': { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, 'fc.weight': { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12), 0, /tensor "fc\.weight": byte range \[4, 12\) overlaps/],
  [craft('wrong-dtype.safetensors', { __metadata__: meta({ arch: 'resnet-small', embed_dim: '2' }), 'fc.bias': { dtype: 'F64', shape: [2], data_offsets: [0, 16] } }, 16), 0, /dtype mismatches \(1\): fc\.bias \(model float32, file float64\)/],
  [craft('branch.safetensors', { __metadata__: meta(), x: one }, 4), 99999, /BN branch 99999 was asked for; branches are 0\.\.63/],
];

describe('hostile model files', () => {
  it('are refused by name with a bounded peak memory', () => {
    // Ignore the parent's own module-loading hooks (e.g. coverage): the child measures only itself.
    const r = spawnSync(process.execPath, [CHILD, ...CASES.map(([path, branch, , arch]) => `${path}#${branch}#${arch ?? ''}`)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { results: { path: string; error: string | null }[]; before: number; after: number };
    CASES.forEach(([path, , expected], i) => {
      const error = out.results[i]!.error;
      assert.ok(error !== null, `${path} was accepted`);
      assert.ok(error.startsWith(path), `the error names the file: ${error}`);
      assert.match(error, expected);
    });
    // maxRSS is in KiB. A ResNet-50 with 64 BN branches would take ~250 MiB; an 8M-wide head 64 GiB.
    const grewMiB = (out.after - out.before) / 1024;
    if (process.env.MDPROP_SHOW_RSS) console.log(`peak RSS growth ${grewMiB.toFixed(1)} MiB`);
    assert.ok(grewMiB < 48, `peak RSS grew by ${grewMiB.toFixed(0)} MiB while refusing the files`);
  });
});
