// `mdprop embed` against PyTorch + torchvision (bench/parity/embed_reference.py) on the same
// random ResNet-18 and ResNet-50 weights and the same 224x224 PNGs: embeddings agree to 1e-4.
// Needs Debian's /usr/bin/python3 with torch and torchvision (scripts/setup.sh installs them);
// MDPROP_REFERENCE_PYTHON names another interpreter.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { readSafetensors, tidy } from '../../src/torch/index.js';
import { spawnMdprop } from '../helpers/cli.js';
import { repoRoot, writeNoisePng } from './embed-helpers.js';

const python = process.env.MDPROP_REFERENCE_PYTHON ?? '/usr/bin/python3';
const script = join(repoRoot, 'bench/parity/embed_reference.py');
const dir = mkdtempSync(join(tmpdir(), 'mdprop-parity-'));
const images = join(dir, 'images');

function pythonMissing(): string | null {
  const r = spawnSync(python, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
  if (r.error) return `${python} not found`;
  return r.status === 0 ? null : `${python} cannot import torch and torchvision (apt-get install python3-torchvision)`;
}

const skipReason = pythonMissing();

before(async () => {
  // Already crop-sized, so neither side resamples; one in a subfolder to exercise the path order.
  await writeNoisePng(join(images, 'cat.png'), 224, 224, 11);
  await writeNoisePng(join(images, 'dog.png'), 224, 224, 12);
  await writeNoisePng(join(images, 'more/bird.png'), 224, 224, 13);
});

describe('embed parity with PyTorch', () => {
  for (const arch of ['resnet18', 'resnet50']) {
    it(`${arch}: max abs difference below 1e-4`, { timeout: 300_000 }, (t) => {
      if (skipReason) {
        t.skip(skipReason);
        return;
      }
      const weights = join(dir, `${arch}.safetensors`);
      const reference = join(dir, `${arch}-ref.safetensors`);
      const ours = join(dir, `${arch}-mdprop.safetensors`);
      const py = spawnSync(
        python,
        [script, '--arch', arch, '--embed-dim', '128', '--seed', '0', '--weights-out', weights, '--images', images, '--out', reference, '--resize', '224', '--crop', '224'],
        { encoding: 'utf8' },
      );
      assert.equal(py.status, 0, py.stderr);
      const r = spawnMdprop(['embed', '--arch', arch, '--embed-dim', '128', '--weights', weights, '--images', images, '--out', ours, '--resize', '224', '--crop', '224']);
      assert.equal(r.code, 0, r.stderr);
      tidy(() => {
        const ref = readSafetensors(reference);
        const got = readSafetensors(ours);
        assert.deepEqual(JSON.parse(got.metadata.paths!), ['cat.png', 'dog.png', 'more/bird.png']);
        assert.deepEqual(JSON.parse(got.metadata.paths!), JSON.parse(ref.metadata.paths!));
        const a = ref.tensors.get('embeddings')!;
        const b = got.tensors.get('embeddings')!;
        assert.deepEqual(b.shape, [3, 128]);
        const diff = a.sub(b).abs().max().item();
        t.diagnostic(`${arch}: max abs difference ${diff.toExponential(2)}`);
        assert.ok(diff < 1e-4, `${arch}: max abs difference ${diff}`);
      });
    });
  }
});
