// `mdprop weights convert` failures (each names the file, exit 1, nothing written) and
// `mdprop train --pretrained X.pth` end to end: torchvision's ResNet-18 with its 1000-class head,
// saved by python3-torch, starts a short run whose log reports the fresh head.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { spawnMdprop } from '../helpers/cli.js';
import { writeNoisePng } from './embed-helpers.js';

const python = process.env.MDPROP_REFERENCE_PYTHON ?? '/usr/bin/python3';
const dir = mkdtempSync(join(tmpdir(), 'mdprop-weights-'));
const hasTorch = spawnSync(python, ['-c', 'import torch, torchvision'], { encoding: 'utf8' }).status === 0;

describe('mdprop weights convert', () => {
  it('refuses missing, damaged and non-PyTorch files, naming them and writing nothing', () => {
    const damaged = join(dir, 'damaged.pth');
    writeFileSync(damaged, Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(300, 7)]));
    const safetensors = join(dir, 'w.safetensors');
    writeFileSync(safetensors, Buffer.from([16, 0, 0, 0, 0, 0, 0, 0, ...Buffer.from('{}              ')]));
    const cases: [string, RegExp][] = [
      [join(dir, 'missing.pth'), /missing\.pth: file not found/],
      [damaged, /damaged\.pth: cannot be read as a torch\.save archive \(truncated or corrupt\?\)/],
      [safetensors, /w\.safetensors: is not a PyTorch checkpoint.*safetensors files need no conversion/],
    ];
    for (const [input, pattern] of cases) {
      const out = join(dir, 'out.safetensors');
      const r = spawnMdprop(['weights', 'convert', input, out]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, pattern);
      assert.equal(existsSync(out), false);
    }
    const usage = spawnMdprop(['weights', 'convert', damaged]);
    assert.equal(usage.code, 2);
  });
});

describe('mdprop train --pretrained X.pth', () => {
  it('loads torchvision weights, leaves the 1000-class head fresh and says so', { timeout: 300_000 }, async (t) => {
    if (!hasTorch) return t.skip(`${python} cannot import torch and torchvision`);
    const weights = join(dir, 'resnet18-imagenet.pth');
    const py = spawnSync(python, ['-c', 'import sys, torch, torchvision; torch.manual_seed(0); torch.save(torchvision.models.resnet18(weights=None).state_dict(), sys.argv[1])', weights], { encoding: 'utf8' });
    assert.equal(py.status, 0, py.stderr);
    const root = join(dir, 'images');
    let seed = 1;
    for (const cls of ['a', 'b', 'c', 'd']) for (let i = 0; i < 4; i++) await writeNoisePng(join(root, cls, `${i}.png`), 32, 32, seed++);
    const out = join(dir, 'run');
    const r = spawnMdprop([
      'train', '--dataset', 'folder', '--data-root', root, '--arch', 'resnet18', '--method', 'baseline', '--pretrained', weights,
      '--image-size', '32', '--test-resize', '32', '--epochs', '1', '--batch-size', '4', '--threads', '1', '--out', out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /pretrained: the file's head \(fc\.weight \[1000, 512\], fc\.bias \[1000\]\) does not fit the model's \(fc\.weight \[128, 512\], fc\.bias \[128\]\); the head starts freshly initialised/);
    assert.match(r.stderr, /pretrained: loaded .*resnet18-imagenet\.pth/);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { pretrained: string; fromScratch: boolean };
    assert.equal(config.pretrained, weights);
    assert.equal(config.fromScratch, false);
  });
});
