// State-dict layout of the ResNets against torchvision's own (a fixture written by
// bench/parity/resnet_names.py), so torchvision checkpoints load unchanged.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createModel, resnet, type Module } from '../../src/nn/index.js';
import { manualSeed, noGrad, randn, tidy } from '../../src/torch/index.js';

interface Entry {
  name: string;
  shape: number[];
  dtype: string;
}

const fixture = JSON.parse(
  readFileSync(new URL('../../../test/nn/fixtures/torchvision-resnet-layout.json', import.meta.url), 'utf8'),
) as { archs: Record<'resnet18' | 'resnet34' | 'resnet50', Entry[]> };

function layout(model: Module): Entry[] {
  return tidy(() => [...model.stateDict()].map(([name, t]) => ({ name, shape: [...t.shape], dtype: t.dtype })));
}

describe('ResNet layout equals torchvision', () => {
  manualSeed(0);
  for (const arch of ['resnet18', 'resnet34', 'resnet50'] as const) {
    it(`${arch}: every state-dict name, shape and dtype, in order`, () => {
      const model = resnet(arch);
      try {
        assert.deepEqual(layout(model), fixture.archs[arch]);
      } finally {
        model.dispose();
      }
    });
  }

  it('the embedding model has the same keys, with fc resized to the embedding dimension', () => {
    const model = createModel({ arch: 'resnet50', embedDim: 128 });
    try {
      const expected = fixture.archs.resnet50.map((e) =>
        e.name === 'fc.weight' ? { ...e, shape: [128, 2048] } : e.name === 'fc.bias' ? { ...e, shape: [128] } : e,
      );
      assert.deepEqual(layout(model), expected);
    } finally {
      model.dispose();
    }
  });

  it('namedParameters and namedBuffers split the state dict as PyTorch does', () => {
    const model = resnet('resnet18');
    try {
      const params = model.namedParameters().map(([n]) => n);
      const buffers = model.namedBuffers().map(([n]) => n);
      assert.equal(params.length, 62);
      assert.equal(buffers.length, 60);
      assert.ok(params.every((n) => !n.includes('running') && !n.endsWith('num_batches_tracked')));
      assert.deepEqual(buffers.slice(0, 3), ['bn1.running_mean', 'bn1.running_var', 'bn1.num_batches_tracked']);
      assert.ok(params.includes('layer2.0.downsample.0.weight') && params.includes('layer2.0.downsample.1.weight'));
    } finally {
      model.dispose();
    }
  });
});

describe('resnet-small', () => {
  it('embeds 28x28 grey and 32x32 colour images to unit vectors', () => {
    for (const [inChannels, side] of [
      [1, 28],
      [3, 32],
    ] as const) {
      const model = createModel({ arch: 'resnet-small', embedDim: 16, inChannels });
      try {
        const norms = tidy(() => noGrad(() => model.eval().forward(randn([2, inChannels, side, side])).norm(2, 1).toNumbers()));
        assert.equal(norms.length, 2);
        for (const n of norms) assert.ok(Math.abs(n - 1) < 1e-5);
        assert.deepEqual(
          tidy(() => [...model.stateDict().get('conv1.weight')!.shape]),
          [32, inChannels, 3, 3],
        );
        assert.ok(!model.namedModules().some(([name]) => name === 'maxpool'));
      } finally {
        model.dispose();
      }
    }
  });

  it('returns the un-normalised projection and the pooled features on request', () => {
    const model = createModel({ arch: 'resnet-small', embedDim: 8 });
    try {
      tidy(() => {
        const out = model.train().forwardAll(randn([4, 3, 32, 32]));
        assert.deepEqual(out.features.shape, [4, 128]);
        assert.deepEqual(out.projection.shape, [4, 8]);
        const renormalised = out.projection.div(out.projection.norm(2, 1, true));
        assert.ok(renormalised.sub(out.embedding).abs().max().item() < 1e-6);
      });
    } finally {
      model.dispose();
    }
  });
});
