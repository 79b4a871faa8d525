// c2f2 against an independent PyTorch build of RobRank's layers (conv 1->32 5x5 pad 2, ReLU, max-pool,
// conv 32->64 5x5 pad 2, ReLU, max-pool, fc 3136->1024, ReLU, fc 1024->D), same weights and inputs:
// the L2-normalised embeddings agree; c2f2-bn likewise with BatchNorm2d/BatchNorm1d after conv1,
// conv2 and fc1, in train mode (batch statistics) and then in eval mode (the running statistics
// that train-mode forward left). Also: parameter count and the shape checks.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createModel, modelStateShapes } from '../../src/nn/index.js';
import * as T from '../../src/torch/index.js';
import { readSafetensors, tidy, writeSafetensors } from '../../src/torch/index.js';

const python = process.env.MDPROP_REFERENCE_PYTHON ?? '/usr/bin/python3';

function pythonMissing(): string | null {
  const r = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (r.error) return `${python} not found`;
  return r.status === 0 ? null : `${python} cannot import torch (apt-get install python3-torch)`;
}

// Reads the safetensors file mdprop wrote (a JSON header, then raw little-endian float32), builds the
// network with torch.nn and writes its embeddings back the same way.
const REFERENCE = String.raw`
import json, struct, sys, torch
import torch.nn.functional as F
def read(path):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    body = raw[8 + n:]
    out = {}
    for name, e in header.items():
        if name == '__metadata__' or e['dtype'] != 'F32':
            continue
        a, b = e['data_offsets']
        out[name] = torch.frombuffer(bytearray(body[a:b]), dtype=torch.float32).reshape(e['shape'])
    return out
t = read(sys.argv[1])
dim = t['fc.weight'].shape[0]
nn = torch.nn
if 'bn1.weight' in t:
    net = nn.Sequential(
        nn.Conv2d(1, 32, kernel_size=5, padding=2), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Conv2d(32, 64, kernel_size=5, padding=2), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 1024), nn.BatchNorm1d(1024), nn.ReLU(), nn.Linear(1024, dim))
    names = ['conv1', 'bn1', None, None, 'conv2', 'bn2', None, None, None, 'fc1', 'bn3', None, 'fc']
else:
    net = nn.Sequential(
        nn.Conv2d(1, 32, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Conv2d(32, 64, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 1024), nn.ReLU(), nn.Linear(1024, dim))
    names = ['conv1', None, None, 'conv2', None, None, None, 'fc1', None, 'fc']
with torch.no_grad():
    for layer, name in zip(net, names):
        if name:
            layer.weight.copy_(t[name + '.weight'])
            layer.bias.copy_(t[name + '.bias'])
    out = {}
    if 'bn1.weight' in t:
        net.train()
        out['train'] = F.normalize(net(t['images']), dim=1).contiguous()
    net.eval()
    out['embeddings'] = F.normalize(net(t['images']), dim=1).contiguous()
header, body = {}, b''
for name, e in out.items():
    data = e.numpy().tobytes()
    header[name] = {'dtype': 'F32', 'shape': list(e.shape), 'data_offsets': [len(body), len(body) + len(data)]}
    body += data
header = json.dumps(header).encode()
open(sys.argv[2], 'wb').write(struct.pack('<Q', len(header)) + header + body)
`;

describe('c2f2', () => {
  it('has RobRank’s layers: 3.3M parameters for D = 512, keys as modelStateShapes says', () => {
    const model = createModel({ arch: 'c2f2', embedDim: 512, inChannels: 1 });
    try {
      const count = [...model.stateDict().values()].reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0);
      // 32*25+32 + 64*32*25+64 + 3136*1024+1024 + 1024*512+512
      assert.equal(count, 832 + 51264 + 3212288 + 524800);
      assert.deepEqual([...model.stateDict().keys()].sort(), [...modelStateShapes({ arch: 'c2f2', embedDim: 512, inChannels: 1 }).keys()].sort());
    } finally {
      model.dispose();
    }
  });

  it('refuses images that are not [N, 1, 28, 28], naming the shape', () => {
    const model = createModel({ arch: 'c2f2', embedDim: 8, inChannels: 1 });
    try {
      tidy(() => assert.throws(() => model.forward(T.zeros([2, 1, 32, 32])), /c2f2: expected images \[N, 1, 28, 28\], got \[2, 1, 32, 32\]/));
    } finally {
      model.dispose();
    }
  });

  it('gives the embeddings of the same network built with torch.nn (max abs difference < 1e-5)', (t) => {
    const skip = pythonMissing();
    if (skip) {
      t.skip(skip);
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'mdprop-c2f2-'));
    const script = join(dir, 'reference.py');
    writeFileSync(script, REFERENCE);
    T.manualSeed(3);
    const model = createModel({ arch: 'c2f2', embedDim: 16, inChannels: 1 });
    try {
      tidy(() => {
        const images = T.rand([5, 1, 28, 28]);
        const tensors = new Map([...model.stateDict(), ['images', images]]);
        writeSafetensors(join(dir, 'in.safetensors'), tensors);
        const py = spawnSync(python, [script, join(dir, 'in.safetensors'), join(dir, 'out.safetensors')], { encoding: 'utf8' });
        assert.equal(py.status, 0, py.stderr);
        const reference = readSafetensors(join(dir, 'out.safetensors')).tensors.get('embeddings')!;
        const ours = model.eval().forward(images);
        assert.deepEqual(ours.shape, [5, 16]);
        const diff = ours.sub(reference).abs().max().item();
        t.diagnostic(`max abs difference ${diff.toExponential(2)}`);
        assert.ok(diff < 1e-5, `max abs difference ${diff}`);
      });
    } finally {
      model.dispose();
    }
  });
  it('c2f2-bn: the same with batch norm after conv1, conv2 and fc1, in train then eval mode (max abs difference < 1e-5)', (t) => {
    const skip = pythonMissing();
    if (skip) {
      t.skip(skip);
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'mdprop-c2f2-bn-'));
    const script = join(dir, 'reference.py');
    writeFileSync(script, REFERENCE);
    T.manualSeed(4);
    const model = createModel({ arch: 'c2f2-bn', embedDim: 16, inChannels: 1 });
    try {
      assert.equal([...model.stateDict().keys()].filter((k) => k.startsWith('bn')).length, 15);
      tidy(() => {
        // Scales and shifts away from 1 and 0, so that a misplaced norm shows.
        for (const [name, p] of model.stateDict()) if (/^bn\d\.(weight|bias)$/.test(name)) T.noGrad(() => p.copy_(T.rand(p.shape).add(0.5)));
        const images = T.rand([6, 1, 28, 28]);
        writeSafetensors(join(dir, 'in.safetensors'), new Map([...model.stateDict(), ['images', images]]));
        const py = spawnSync(python, [script, join(dir, 'in.safetensors'), join(dir, 'out.safetensors')], { encoding: 'utf8' });
        assert.equal(py.status, 0, py.stderr);
        const reference = readSafetensors(join(dir, 'out.safetensors')).tensors;
        const trained = model.train().forward(images);
        const evaluated = model.eval().forward(images);
        for (const [ours, theirs, mode] of [[trained, reference.get('train')!, 'train'], [evaluated, reference.get('embeddings')!, 'eval']] as const) {
          const diff = ours.sub(theirs).abs().max().item();
          t.diagnostic(`${mode} mode: max abs difference ${diff.toExponential(2)}`);
          assert.ok(diff < 1e-5, `${mode} mode: max abs difference ${diff}`);
        }
      });
    } finally {
      model.dispose();
    }
  });
});
