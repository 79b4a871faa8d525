// mdprop embed on a grey (1-channel) model, as trained on Fashion-MNIST: the input channels come
// from the stem's weights, images are decoded to grey and normalised with the grey mean/std.
// The expected input is built here from the bytes written to the PNGs, not by the data layer.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { decodeImageFile } from '../../src/data/index.js';
import { createModel } from '../../src/nn/index.js';
import * as T from '../../src/torch/index.js';
import { readSafetensors, tidy, writeSafetensors } from '../../src/torch/index.js';
import { spawnMdprop } from '../helpers/cli.js';
import { noisePixels, writeNoisePng } from './embed-helpers.js';

const SIDE = 28;
// The grey mean and std are the averages of ImageNet's published per-channel values
// (mean 0.485, 0.456, 0.406; std 0.229, 0.224, 0.225), as src/data/transforms.ts states.
const GREY_MEAN = 0.449;
const GREY_STD = 0.226;

/**
 * The normalised grey input of one noise image: ITU-R BT.601 luma Y = 0.299 R + 0.587 G + 0.114 B,
 * rounded to a byte (PIL's "L" mode), then (Y / 255 - mean) / std. 28x28 at --resize 28 --crop 28
 * is neither resampled nor cropped.
 */
function expectedGrey(seed: number): Float32Array {
  const rgb = noisePixels(SIDE, SIDE, seed);
  const out = new Float32Array(SIDE * SIDE);
  for (let i = 0; i < out.length; i++) {
    const luma = Math.round((299 * rgb[3 * i]! + 587 * rgb[3 * i + 1]! + 114 * rgb[3 * i + 2]!) / 1000);
    out[i] = (luma / 255 - GREY_MEAN) / GREY_STD;
  }
  return out;
}

it('embeds with a 1-channel model: grey input by BT.601 luma and the grey mean/std', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mdprop-embed-grey-'));
  const images = join(dir, 'images');
  mkdirSync(images);
  for (let i = 0; i < 3; i++) await writeNoisePng(join(images, `${i}.png`), SIDE, SIDE, i + 1);
  T.manualSeed(4);
  const model = createModel({ arch: 'resnet-small', embedDim: 16, inChannels: 1 });
  model.eval();
  const weights = join(dir, 'w.safetensors');
  tidy(() => writeSafetensors(weights, model.stateDict()));
  const out = join(dir, 'e.safetensors');
  const result = spawnMdprop(['embed', '--arch', 'resnet-small', '--embed-dim', '16', '--weights', weights, '--images', images, '--out', out, '--resize', '28', '--crop', '28']);
  assert.equal(result.code, 0, result.stderr);
  const expected: number[] = [];
  for (let i = 0; i < 3; i++) {
    const input = expectedGrey(i + 1);
    // The data layer's decoder agrees with the hand-made input (a failure here points at the transform).
    const { data, shape } = await decodeImageFile(join(images, `${i}.png`), { resize: SIDE, crop: SIDE, channels: 1 });
    assert.deepEqual(shape, [1, SIDE, SIDE]);
    data.forEach((v, j) => assert.ok(Math.abs(v - input[j]!) < 1e-6, `image ${i} pixel ${j}: decoded ${v}, expected ${input[j]}`));
    expected.push(...tidy(() => T.noGrad(() => model.forward(T.tensor(input, [1, 1, SIDE, SIDE])).toNumbers())));
  }
  model.dispose();
  const got = tidy(() => readSafetensors(out).tensors.get('embeddings')!.toNumbers());
  assert.equal(got.length, 3 * 16);
  got.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-5, `element ${i}: ${v} vs ${expected[i]}`));
});
