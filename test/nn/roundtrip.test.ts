// Saving a model's state dict as safetensors and loading it into a fresh model reproduces it.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createModel } from '../../src/nn/index.js';
import { manualSeed, noGrad, randn, readSafetensors, tidy, writeSafetensors } from '../../src/torch/index.js';

describe('state dict through safetensors', () => {
  it('round-trips every parameter and buffer, and the eval-mode embeddings', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'mdprop-nn-')), 'model.safetensors');
    manualSeed(5);
    const a = createModel({ arch: 'resnet-small', embedDim: 16 });
    manualSeed(6);
    const b = createModel({ arch: 'resnet-small', embedDim: 16 });
    try {
      // One training-mode pass so the running statistics and batch counters are not the defaults.
      tidy(() => {
        noGrad(() => a.train().forward(randn([4, 3, 32, 32])));
      });
      tidy(() => writeSafetensors(path, a.stateDict()));
      const file = readSafetensors(path);
      try {
        assert.deepEqual([...file.tensors.keys()].sort(), tidy(() => [...a.stateDict().keys()]).sort());
        b.loadStateDict(file.tensors);
      } finally {
        for (const t of file.tensors.values()) t.dispose();
      }
      tidy(() => {
        const sa = a.stateDict();
        const sb = b.stateDict();
        for (const [name, t] of sa) {
          assert.equal(sb.get(name)!.dtype, t.dtype, name);
          assert.deepEqual(sb.get(name)!.toNumbers(), t.toNumbers(), name);
        }
        assert.equal(sb.get('bn1.num_batches_tracked')!.item(), 1);
        const x = randn([3, 3, 32, 32]);
        const diff = noGrad(() => a.eval().forward(x).sub(b.eval().forward(x)).abs().max().item());
        assert.equal(diff, 0);
      });
    } finally {
      a.dispose();
      b.dispose();
    }
  });
});
