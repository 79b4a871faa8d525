// `mdprop embed`: output format and row order, agreement with the in-process model, and the
// errors for bad flags and bad weights.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { decodeImageFile } from '../../src/data/index.js';
import { createModel } from '../../src/nn/index.js';
import { manualSeed, noGrad, readSafetensors, tensor, tidy, writeSafetensors, zeros } from '../../src/torch/index.js';
import { runMdprop, spawnMdprop } from '../helpers/cli.js';
import { writeNoisePng } from './embed-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'mdprop-embed-'));
const images = join(dir, 'images');
const weights = join(dir, 'small.safetensors');
// Relative paths in the order the contract asks for: code-point order, '/' separators.
const expectedPaths = ['B.png', 'a/x.jpg', 'a/y.PNG', 'b.webp', 'c/d/e.jpeg'];

function args(overrides: Record<string, string> = {}): string[] {
  const flags: Record<string, string> = {
    '--arch': 'resnet-small',
    '--embed-dim': '16',
    '--weights': weights,
    '--images': images,
    '--out': join(dir, 'out.safetensors'),
    '--resize': '32',
    '--crop': '32',
    '--batch-size': '2',
    ...overrides,
  };
  return ['embed', ...Object.entries(flags).flat()];
}

before(async () => {
  const sharp = (await import('sharp')).default;
  await writeNoisePng(join(images, 'B.png'), 32, 32, 1);
  await writeNoisePng(join(images, 'a/y.PNG'), 40, 32, 2); // shorter side already 32: cropped only
  mkdirSync(join(images, 'c/d'), { recursive: true });
  const noise = await sharp(join(images, 'B.png')).toBuffer();
  await sharp(noise).resize(48, 64).jpeg({ quality: 95 }).toFile(join(images, 'a/x.jpg'));
  await sharp(noise).resize(36, 36).webp({ lossless: true }).toFile(join(images, 'b.webp'));
  await sharp(noise).flop().jpeg().toFile(join(images, 'c/d/e.jpeg'));
  writeFileSync(join(images, 'notes.txt'), 'not an image');
  manualSeed(9);
  const model = createModel({ arch: 'resnet-small', embedDim: 16 });
  tidy(() => {
    noGrad(() => model.train().forward(tensor(new Float32Array(2 * 3 * 32 * 32).fill(0.5), [2, 3, 32, 32]))); // non-default BN stats
    writeSafetensors(weights, model.stateDict());
  });
  model.dispose();
});

describe('mdprop embed', () => {
  it('writes L2-normalised float32 embeddings with the relative paths in code-point order', async () => {
    const out = join(dir, 'out.safetensors');
    const r = spawnMdprop(args({ '--out': out }));
    assert.equal(r.code, 0, r.stderr);
    const file = readSafetensors(out);
    const embeddings = file.tensors.get('embeddings')!;
    assert.equal(embeddings.dtype, 'float32');
    assert.deepEqual(embeddings.shape, [5, 16]);
    assert.deepEqual(JSON.parse(file.metadata.paths!), expectedPaths);
    const rows = embeddings.toNumbers();
    for (let i = 0; i < 5; i++) {
      const norm = Math.hypot(...rows.slice(i * 16, (i + 1) * 16));
      assert.ok(Math.abs(norm - 1) < 1e-5, `row ${i} has norm ${norm}`);
    }

    // The same rows from the model in this process, fed by the data layer's decoder.
    const model = createModel({ arch: 'resnet-small', embedDim: 16 });
    const state = readSafetensors(weights).tensors;
    model.loadStateDict(state);
    for (const t of state.values()) t.dispose();
    const decoded = await Promise.all(expectedPaths.map((p) => decodeImageFile(join(images, p), { resize: 32, crop: 32 })));
    const pixels = new Float32Array(5 * 3 * 32 * 32);
    decoded.forEach((d, i) => pixels.set(d.data, i * d.data.length));
    const diff = tidy(() => noGrad(() => model.eval().forward(tensor(pixels, [5, 3, 32, 32])).sub(embeddings).abs().max().item()));
    assert.ok(diff < 1e-5, `max abs difference ${diff}`);
    model.dispose();
    embeddings.dispose();
  });

  it('gives the same rows whatever the batch size', () => {
    const a = join(dir, 'bs1.safetensors');
    const b = join(dir, 'bs7.safetensors');
    assert.equal(spawnMdprop(args({ '--out': a, '--batch-size': '1' })).code, 0);
    assert.equal(spawnMdprop(args({ '--out': b, '--batch-size': '7', '--resize': '40' })).code, 0);
    const c = join(dir, 'bs7-32.safetensors');
    assert.equal(spawnMdprop(args({ '--out': c, '--batch-size': '7' })).code, 0);
    tidy(() => {
      const ea = readSafetensors(a).tensors.get('embeddings')!;
      const ec = readSafetensors(c).tensors.get('embeddings')!;
      assert.ok(ea.sub(ec).abs().max().item() < 1e-5);
      assert.deepEqual(readSafetensors(b).tensors.get('embeddings')!.shape, [5, 16]);
    });
  });

  it('exits 2 naming the flag for an unknown arch, a missing file or folder, and bad numbers', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ '--arch': 'resnet99' }, /--arch: unknown architecture 'resnet99'; expected one of resnet18, resnet34, resnet50, resnet-small/],
      [{ '--weights': join(dir, 'absent.safetensors') }, /--weights .*absent\.safetensors: model file not found/],
      [{ '--images': join(dir, 'no-such-dir') }, /--images: folder not found: .*no-such-dir/],
      [{ '--embed-dim': 'abc' }, /--embed-dim: expected a positive integer, got 'abc'/],
      [{ '--batch-size': '0' }, /--batch-size: expected a positive integer, got '0'/],
      [{ '--crop': '48' }, /--crop: 48 must not exceed resize \(32\)/],
    ];
    for (const [flags, message] of cases) {
      const r = await runMdprop(args(flags));
      assert.equal(r.code, 2, `${JSON.stringify(flags)}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });

  it('exits 2 when the folder holds no images', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(join(empty, 'sub'), { recursive: true });
    writeFileSync(join(empty, 'sub/readme.md'), '#');
    const r = await runMdprop(args({ '--images': empty }));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--images: no image files found/);
  });

  it('names the keys of weights that do not fit the model', async () => {
    // Wrong embedding dimension: fc shapes differ.
    let r = await runMdprop(args({ '--embed-dim': '8' }));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--weights .*small\.safetensors: state dict does not match the model/);
    assert.match(r.stderr, /shape mismatches \(2\): fc\.weight \(model \[8, 128\], file \[16, 128\]\), fc\.bias/);

    // Missing and unexpected keys.
    const bad = join(dir, 'bad.safetensors');
    tidy(() => {
      const state = readSafetensors(weights).tensors;
      state.delete('layer2.0.bn1.running_var');
      state.set('head.weight', zeros([1]));
      writeSafetensors(bad, state);
    });
    r = await runMdprop(args({ '--weights': bad }));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /missing keys \(1\): layer2\.0\.bn1\.running_var/);
    assert.match(r.stderr, /unexpected keys \(1\): head\.weight/);

    // Not a safetensors file at all.
    const junk = join(dir, 'junk.safetensors');
    writeFileSync(junk, 'hello');
    r = await runMdprop(args({ '--weights': junk }));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--weights .*junk\.safetensors: .*not a safetensors file/);
  });

  it('names an image that cannot be decoded', () => {
    const broken = join(dir, 'broken');
    mkdirSync(broken, { recursive: true });
    writeFileSync(join(broken, 'bad.png'), 'this is not a png');
    const r = spawnMdprop(args({ '--images': broken }));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\.png/);
  });
});
