// PyTorch checkpoints (.pth) read without Python, checked against PyTorch itself: python3-torch
// builds torchvision ResNets with seeded random weights (BN statistics too), saves them with
// torch.save in the layouts found in the wild (the state dict itself; nested under "model" without
// num_batches_tracked; DataParallel's `module.` prefix; the legacy pre-1.6 format) and embeds the
// same images. `mdprop embed`
// on the .pth, on its `mdprop weights convert` safetensors, and a model given the .pth as
// `--pretrained` weights (1000-class head left fresh) must all agree with PyTorch to 1e-5.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { createModel } from '../../src/nn/index.js';
import { loadPretrained } from '../../src/train/pretrained.js';
import { noGrad, readPytorchCheckpoint, readSafetensors, tidy, type Tensor } from '../../src/torch/index.js';
import { spawnMdprop } from '../helpers/cli.js';
import { noisePixels, repoRoot, writeNoisePng } from './embed-helpers.js';

const python = process.env.MDPROP_REFERENCE_PYTHON ?? '/usr/bin/python3';
const dir = mkdtempSync(join(tmpdir(), 'mdprop-pth-'));
const images = join(dir, 'images');
const TOLERANCE = 1e-5;

function pythonMissing(): string | null {
  const r = spawnSync(python, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
  if (r.error) return `${python} not found`;
  return r.status === 0 ? null : `${python} cannot import torch and torchvision (apt-get install python3-torchvision)`;
}
const skipReason = pythonMissing();

// Reuses the embedding reference of the safetensors parity test (same model, transforms and file writer).
const SCRIPT = `
import json, sys
sys.path.insert(0, ${JSON.stringify(join(repoRoot, 'bench/parity'))})
import torch, torchvision
from embed_reference import random_model, find_images, embed, write_safetensors
arch, out, images = sys.argv[1], sys.argv[2], sys.argv[3]
model = random_model(arch, 128, 0)
state = model.state_dict()
torch.save(state, f"{out}/{arch}-plain.pth")
without_counters = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
torch.save({"model": without_counters, "epoch": 7, "args": {"lr": 1e-5}}, f"{out}/{arch}-nested.pth")
torch.save({"module." + k: v for k, v in state.items()}, f"{out}/{arch}-module.pth")
torch.save(state, f"{out}/{arch}-legacy.pth", _use_new_zipfile_serialization=False)
paths = find_images(images)
write_safetensors(f"{out}/{arch}-ref.safetensors", {"embeddings": embed(model, images, paths, 224, 224).float()})
# ImageNet-shaped weights (1000-class head) for --pretrained: the pooled features are what must carry over.
torch.manual_seed(1)
imagenet = getattr(torchvision.models, arch)(weights=None).eval()
with torch.no_grad():
    for m in imagenet.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 2.0)
    x = torch.load(f"{out}/input.pt")["x"]
    trunk = torch.nn.Sequential(*list(imagenet.children())[:-1])
    features = torch.flatten(trunk(x), 1)
torch.save(imagenet.state_dict(), f"{out}/{arch}-imagenet.pth")
write_safetensors(f"{out}/{arch}-features.safetensors", {"features": features})
print(json.dumps({"torch": torch.__version__, "images": len(paths)}))
`;

function maxDiff(a: Tensor, b: Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  return a.sub(b).abs().max().item();
}

function embedWith(weights: string, arch: string, out: string): Tensor {
  const r = spawnMdprop(['embed', '--arch', arch, '--weights', weights, '--images', images, '--out', out, '--resize', '224', '--crop', '224']);
  assert.equal(r.code, 0, r.stderr);
  return readSafetensors(out).tensors.get('embeddings')!;
}

before(async () => {
  await writeNoisePng(join(images, 'a.png'), 224, 224, 21);
  await writeNoisePng(join(images, 'b.png'), 224, 224, 22);
  // The --pretrained check's input batch [2, 3, 64, 64], written for PyTorch by PyTorch's own format.
  const pixels = Array.from(noisePixels(64, 128, 5), (v) => v / 255 - 0.5);
  writeFileSync(join(dir, 'input.py'), `import torch\ntorch.save({"x": torch.tensor(${JSON.stringify(pixels)}).reshape(2, 3, 64, 64)}, ${JSON.stringify(join(dir, 'input.pt'))})\n`);
  if (!skipReason) assert.equal(spawnSync(python, [join(dir, 'input.py')]).status, 0);
});

describe('PyTorch .pth checkpoints against PyTorch', () => {
  for (const arch of ['resnet18', 'resnet50']) {
    it(`${arch}: embed from .pth (plain, nested without counters, module. prefix, legacy format) and from its conversion`, { timeout: 600_000 }, (t) => {
      if (skipReason) {
        t.skip(skipReason);
        return;
      }
      const py = spawnSync(python, ['-c', SCRIPT, arch, dir, images], { encoding: 'utf8' });
      assert.equal(py.status, 0, py.stderr);
      tidy(() => {
        const ref = readSafetensors(join(dir, `${arch}-ref.safetensors`)).tensors.get('embeddings')!;
        for (const variant of ['plain', 'nested', 'module', 'legacy']) {
          const diff = maxDiff(ref, embedWith(join(dir, `${arch}-${variant}.pth`), arch, join(dir, `${arch}-${variant}.safetensors`)));
          t.diagnostic(`${arch} ${variant}.pth: max abs difference ${diff.toExponential(2)}`);
          assert.ok(diff < TOLERANCE, `${arch} ${variant}: ${diff}`);
        }
        // The conversion keeps names and values: the nested state dict comes out whole, counters still absent.
        const converted = join(dir, `${arch}-converted.safetensors`);
        const r = spawnMdprop(['weights', 'convert', join(dir, `${arch}-nested.pth`), converted, '--json']);
        assert.equal(r.code, 0, r.stderr);
        const report = JSON.parse(r.stdout) as { tensors: number; found_at: string };
        assert.equal(report.found_at, 'model');
        const file = readSafetensors(converted);
        assert.equal(file.tensors.size, report.tensors);
        assert.ok(![...file.tensors.keys()].some((k) => k.endsWith('num_batches_tracked')));
        const diff = maxDiff(ref, embedWith(converted, arch, join(dir, `${arch}-from-converted.safetensors`)));
        t.diagnostic(`${arch} converted: max abs difference ${diff.toExponential(2)}`);
        assert.ok(diff < TOLERANCE, `${arch} converted: ${diff}`);

        // --pretrained: ImageNet-shaped weights into a 128-dim embedding model.
        const model = createModel({ arch: arch as 'resnet18' | 'resnet50', embedDim: 128 });
        try {
          const freshHead = model.stateDict().get('fc.weight')!.clone();
          const notes = loadPretrained(model, join(dir, `${arch}-imagenet.pth`));
          assert.ok(notes.some((n) => /head .*fc\.weight \[1000, \d+\].*freshly initialised/.test(n)), notes.join('\n'));
          assert.equal(maxDiff(model.stateDict().get('fc.weight')!, freshHead), 0);
          model.eval();
          const x = readPytorchCheckpoint(join(dir, 'input.pt')).tensors.get('x')!;
          const ours = noGrad(() => model.forwardAll(x).features);
          const theirs = readSafetensors(join(dir, `${arch}-features.safetensors`)).tensors.get('features')!;
          const scale = theirs.abs().max().item();
          const fdiff = maxDiff(ours, theirs) / scale;
          t.diagnostic(`${arch} --pretrained features: max relative difference ${fdiff.toExponential(2)}`);
          assert.ok(fdiff < TOLERANCE, `${arch} pretrained features: ${fdiff}`);
        } finally {
          model.dispose();
        }
      });
    });
  }
});
