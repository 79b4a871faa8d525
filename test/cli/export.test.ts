// `mdprop export` end to end: a tiny MDProp run trained by `mdprop train`, exported with and without
// --fold-bn and for an auxiliary branch; onnxruntime-node's embeddings of real image files against
// `mdprop embed` (branch 0) and the library (branch 2); weights from elsewhere; bad flags.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { embedFolder } from '../../src/evaluate/index.js';
import { loadModelFile, readOnnxFile } from '../../src/formats/index.js';
import { createModel } from '../../src/nn/index.js';
import { manualSeed, readSafetensors, writeSafetensors } from '../../src/torch/index.js';
import { maxAbsDiff, pixelBatch, runOnnx, runOnnxOneByOne, writeImages } from '../export/fixtures.js';
import { runMdprop, spawnMdprop } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'mdprop-export-cli-'));
const run = join(dir, 'run');
const images = join(dir, 'images');
let paths: string[] = [];
let pixels: Float32Array;
const N = 5;
const SHAPE = [N, 1, 28, 28];

before(async () => {
  const trained = await runMdprop([
    'train', '--dataset', 'mnist', '--method', 'mdprop', '--embed-dim', '16', '--epochs', '1', '--batch-size', '8',
    '--limit-train', '32', '--limit-test', '40', '--eval-batch-size', '20', '--threads', '1', '--seed', '3', '--out', run,
  ]);
  assert.equal(trained.code, 0, trained.stderr);
  paths = await writeImages(images, N, 30, 33, 7);
  pixels = await pixelBatch(paths, { resize: 28, crop: 28, channels: 1 });
});

function exportArgs(out: string, ...extra: string[]): string[] {
  return ['export', '--run', run, '--out', out, ...extra];
}

// Nothing is left behind in the temporary folder.
after(() => rmSync(dir, { recursive: true, force: true }));

describe('mdprop export', () => {
  it("writes the run's model: onnxruntime's embeddings equal `mdprop embed`'s, with and without --fold-bn", async () => {
    const embedded = join(dir, 'embed.safetensors');
    const e = spawnMdprop(['embed', '--weights', join(run, 'model.safetensors'), '--images', images, '--out', embedded]);
    assert.equal(e.code, 0, e.stderr);
    const file = readSafetensors(embedded);
    const reference = file.tensors.get('embeddings')!.toFloat32Array();
    for (const t of file.tensors.values()) t.dispose();
    for (const fold of [[], ['--fold-bn']]) {
      const out = join(dir, `model${fold.length ? '-folded' : ''}.onnx`);
      const r = spawnMdprop(exportArgs(out, ...fold));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /resnet-small, images \[N, 1, 28, 28\] -> embeddings \[N, 16\], branch 0, opset 17/);
      const batch = await runOnnx(out, pixels, SHAPE);
      const single = await runOnnxOneByOne(out, pixels, SHAPE);
      const diff = Math.max(maxAbsDiff(batch.data, reference), maxAbsDiff(single, reference));
      assert.ok(diff <= 1e-5, `max |Δ| ${diff}${fold.length ? ' folded' : ''}`);
      const { metadata } = readOnnxFile(out);
      assert.deepEqual(
        { ...metadata, mdprop_version: undefined },
        {
          format: 'mdprop.onnx/1', arch: 'resnet-small', embed_dim: 16, in_channels: 1, image_size: 28, test_resize: 28, normalization: 'mean-std',
          mean: [0.449], std: [0.226], branch: 0, bn_folded: fold.length > 0, dataset: 'mnist', method: 'mdprop', epoch: 1, mdprop_version: undefined,
        },
      );
    }
  });

  it('--branch 2 --opset 13 --json: the second auxiliary branch, as the library embeds with it', async () => {
    const out = join(dir, 'branch2.onnx');
    const r = spawnMdprop(exportArgs(out, '--branch', '2', '--opset', '13', '--fold-bn', '--json'));
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { opset: number; irVersion: number; foldedBatchNorms: number; record: { branch: number } };
    assert.deepEqual([result.opset, result.irVersion, result.foldedBatchNorms, result.record.branch], [13, 7, 15, 2]);
    const loaded = loadModelFile(join(run, 'model.safetensors'), { branch: 2 });
    const reference = (await embedFolder(loaded, images)).rows;
    loaded.model.dispose();
    const { data } = await runOnnx(out, pixels, SHAPE);
    assert.ok(maxAbsDiff(data, reference) <= 1e-5, `max |Δ| ${maxAbsDiff(data, reference)}`);
  });

  it('--weights from elsewhere with --arch and --embed-dim', async () => {
    manualSeed(4);
    const model = createModel({ arch: 'resnet-small', embedDim: 6, inChannels: 3 });
    const weights = join(dir, 'plain.safetensors');
    writeSafetensors(weights, model.stateDict());
    model.dispose();
    const out = join(dir, 'plain.onnx');
    const r = await runMdprop(['export', '--weights', weights, '--arch', 'resnet-small', '--embed-dim', '6', '--out', out, '--image-size', '24']);
    assert.equal(r.code, 0, r.stderr);
    const { summary, metadata } = readOnnxFile(out);
    assert.deepEqual(summary.inputs[0]!.shape, ['batch', 3, 24, 24]);
    assert.deepEqual([metadata?.arch, metadata?.embed_dim, metadata?.dataset, metadata?.method, metadata?.test_resize], ['resnet-small', 6, 'unknown', 'unknown', 24]);
    const colour = new Float32Array(2 * 3 * 24 * 24).fill(0.5);
    const { dims } = await runOnnx(out, colour, [2, 3, 24, 24]);
    assert.deepEqual(dims, [2, 6]);
  });

  it('bad flags exit 2 naming the flag, before writing anything', async () => {
    const out = join(dir, 'never.onnx');
    const cases: [string[], RegExp][] = [
      [['export', '--weights', join(run, 'model.safetensors'), '--arch', 'resnet99', '--out', out], /--arch: unknown architecture 'resnet99'; expected one of resnet18/],
      [exportArgs(out, '--branch', '3'), /--branch: .*BN branch 3 was asked for; the file holds 3 branches/],
      [exportArgs(out, '--branch', '-1'), /--branch: expected an integer >= 0, got '-1'/],
      [exportArgs(out, '--opset', '12'), /--opset: 12 is not an opset mdprop writes; expected an integer in 13\.\.23/],
      [exportArgs(out, '--opset', '99'), /--opset: 99 is not an opset/],
      [exportArgs(out, '--opset', 'seventeen'), /--opset: expected a positive integer, got 'seventeen'/],
      [exportArgs(out, '--image-size', '32', '--test-resize', '30'), /--test-resize: 30 is smaller than the image size 32/],
      [['export', '--out', out], /give either --run DIR or --weights FILE/],
      [['export', '--run', run, '--weights', join(run, 'model.safetensors'), '--out', out], /give either --run DIR or --weights FILE/],
      [['export', '--run', images, '--out', out], /--run .*images: not a run directory/],
      [['export', '--run', run, '--arch', 'resnet18', '--out', out], /--arch and --embed-dim describe --weights/],
      [['export', '--weights', join(dir, 'missing.safetensors'), '--arch', 'resnet18', '--out', out], /--weights .*missing\.safetensors: model file not found/],
    ];
    for (const [args, message] of cases) {
      const r = await runMdprop(args);
      assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
    assert.throws(() => readOnnxFile(out), /file not found/);
  });
});
