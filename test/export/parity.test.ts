// Exported files against mdprop: for every architecture, with and without batch-norm folding, the
// embeddings onnxruntime-node computes from the pixels of real image files (batch 1 and batch 7)
// equal those of mdprop's embedFolder (what `mdprop embed` runs) to 1e-5. Random weights, batch
// norms with statistics far from a fresh layer's; the big ResNets at 64x64 to keep this quick.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { embedFolder } from '../../src/evaluate/index.js';
import { exportOnnx } from '../../src/export/index.js';
import { loadModelFile, readOnnxFile, writeModelFile } from '../../src/formats/index.js';
import { convertToMultiBatchNorm, createModel, type Arch } from '../../src/nn/index.js';
import { manualSeed } from '../../src/torch/index.js';
import { batchNormSpread, maxAbsDiff, pixelBatch, randomiseBatchNorms, runOnnx, runOnnxOneByOne, writeImages } from './fixtures.js';

const TOLERANCE = 1e-5;
const N = 7;
const dir = mkdtempSync(join(tmpdir(), 'mdprop-export-parity-'));
let small: string[] = [];
let large: string[] = [];

interface Case {
  arch: Arch;
  channels: 1 | 3;
  size: number;
  normalization: 'mean-std' | 'none';
  embedDim: number;
}

const CASES: Case[] = [
  { arch: 'resnet-small', channels: 1, size: 28, normalization: 'mean-std', embedDim: 16 },
  { arch: 'c2f2', channels: 1, size: 28, normalization: 'none', embedDim: 16 },
  { arch: 'c2f2-bn', channels: 1, size: 28, normalization: 'none', embedDim: 16 },
  { arch: 'resnet18', channels: 3, size: 64, normalization: 'mean-std', embedDim: 32 },
  { arch: 'resnet34', channels: 3, size: 64, normalization: 'mean-std', embedDim: 32 },
  { arch: 'resnet50', channels: 3, size: 64, normalization: 'mean-std', embedDim: 32 },
];

before(async () => {
  // Wider and taller than the models' inputs, so the evaluation transform resizes and crops.
  small = await writeImages(join(dir, 'small'), N, 34, 30, 11);
  large = await writeImages(join(dir, 'large'), N, 80, 72, 23);
});

/** Writes the model as `mdprop train` does and loads it back as `mdprop embed` does. */
function modelFile(c: Case, branches: number): string {
  manualSeed(5);
  const model = convertToMultiBatchNorm(createModel({ arch: c.arch, embedDim: c.embedDim, inChannels: c.channels }), branches);
  randomiseBatchNorms(model, [4, c.channels, c.size, c.size], branches);
  if (c.arch !== 'c2f2') assert.ok(batchNormSpread(model) > 0.1, 'batch-norm statistics differ from a fresh layer');
  const path = join(dir, `${c.arch}-${branches}.safetensors`);
  writeModelFile(path, model, { arch: c.arch, embedDim: c.embedDim, inChannels: c.channels, imageSize: c.size, testResize: c.size, normalization: c.normalization, method: branches > 1 ? 'mdprop' : 'baseline', dataset: 'folder', epoch: 3 });
  model.dispose();
  return path;
}

async function checkParity(c: Case, weights: string, branch: number): Promise<{ plain: number; folded: number; reference: Float32Array }> {
  const loaded = loadModelFile(weights, { branch });
  const folder = join(dir, c.size === 28 ? 'small' : 'large');
  const paths = c.size === 28 ? small : large;
  try {
    const reference = (await embedFolder(loaded, folder, { batchSize: N })).rows;
    const pixels = await pixelBatch(paths, { resize: c.size, crop: c.size, channels: c.channels });
    const shape = [N, c.channels, c.size, c.size];
    const result = { plain: 0, folded: 0, reference };
    for (const foldBn of [false, true]) {
      const file = join(dir, `${c.arch}-b${branch}${foldBn ? '-folded' : ''}.onnx`);
      const written = exportOnnx(loaded, file, { foldBn });
      assert.equal(written.record.branch, branch);
      const ops = readOnnxFile(file).summary.opTypes;
      if (foldBn) assert.ok(!ops.includes('BatchNormalization'), `${file} still has batch norms`);
      else if (c.arch !== 'c2f2') assert.ok(ops.includes('BatchNormalization'));
      const batch = await runOnnx(file, pixels, shape);
      assert.deepEqual(batch.dims, [N, c.embedDim]);
      const single = await runOnnxOneByOne(file, pixels, shape);
      const diff = Math.max(maxAbsDiff(batch.data, reference), maxAbsDiff(single, reference));
      assert.ok(diff <= TOLERANCE, `${c.arch} branch ${branch}${foldBn ? ' folded' : ''}: max |Δ| ${diff}`);
      result[foldBn ? 'folded' : 'plain'] = diff;
    }
    return result;
  } finally {
    loaded.model.dispose();
  }
}

// The files are large (ResNet-50's are about 100 MB each): nothing is left behind.
after(() => rmSync(dir, { recursive: true, force: true }));

describe('exported ONNX files against mdprop embed', () => {
  for (const c of CASES) {
    it(`${c.arch} (${c.channels} channel${c.channels === 1 ? '' : 's'}, ${c.size}x${c.size}, ${c.normalization}): batch 1 and 7, with and without --fold-bn`, async (t) => {
      const { plain, folded } = await checkParity(c, modelFile(c, 1), 0);
      t.diagnostic(`max |Δ| ${c.arch}: ${plain.toExponential(2)} unfolded, ${folded.toExponential(2)} folded`);
    });
  }

  it('an auxiliary branch: its own statistics, from the model file and its aux file', async (t) => {
    const c = CASES[0]!;
    const weights = modelFile(c, 3);
    const aux = await checkParity(c, weights, 2);
    t.diagnostic(`max |Δ| resnet-small branch 2: ${aux.plain.toExponential(2)} unfolded, ${aux.folded.toExponential(2)} folded`);
    // Branch 0 of the same files gives other embeddings: the branch is really chosen.
    const clean = await checkParity(c, weights, 0);
    assert.ok(maxAbsDiff(aux.reference, clean.reference) > 1e-3, 'branches 0 and 2 embed alike');
  });
});
