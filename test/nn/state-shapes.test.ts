// modelStateShapes must describe exactly the state dict createModel builds: the model-file reader
// trusts it to refuse a file before any tensor is made.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ARCHS, convertToMultiBatchNorm, createModel, modelStateShapes } from '../../src/nn/index.js';

describe('modelStateShapes', () => {
  for (const arch of ARCHS) {
    it(`equals the state dict of ${arch} (1 and 3 input channels, 1 and 3 BN branches)`, () => {
      for (const [inChannels, branches] of [[3, 1], [1, 3]] as const) {
        const model = convertToMultiBatchNorm(createModel({ arch, embedDim: 24, inChannels }), branches);
        try {
          const actual = [...model.stateDict()].map(([name, t]) => [name, [...t.shape], t.dtype]);
          const described = [...modelStateShapes({ arch, embedDim: 24, inChannels }, branches)].map(([name, e]) => [name, e.shape, e.dtype]);
          const byName = (a: unknown[], b: unknown[]) => String(a[0]).localeCompare(String(b[0]));
          assert.deepEqual(described.sort(byName), actual.sort(byName));
        } finally {
          model.dispose();
        }
      }
    });
  }
});
