// mdprop embed on a grey (1-channel) model, as trained on Fashion-MNIST: the input channels come
// from the stem's weights, images are decoded to grey and normalised with the grey mean/std.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { decodeImageFile } from '../../src/data/index.js';
import { createModel } from '../../src/nn/index.js';
import * as T from '../../src/torch/index.js';
import { readSafetensors, tidy, writeSafetensors } from '../../src/torch/index.js';
import { runCli, writeNoisePng } from './embed-helpers.js';

it('embeds with a 1-channel model exactly as its own forward pass does', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mdprop-embed-grey-'));
  const images = join(dir, 'images');
  mkdirSync(images);
  for (let i = 0; i < 3; i++) await writeNoisePng(join(images, `${i}.png`), 28, 28, i + 1);
  T.manualSeed(4);
  const model = createModel({ arch: 'resnet-small', embedDim: 16, inChannels: 1 });
  model.eval();
  const weights = join(dir, 'w.safetensors');
  tidy(() => writeSafetensors(weights, model.stateDict()));
  const out = join(dir, 'e.safetensors');
  const result = runCli(['embed', '--arch', 'resnet-small', '--embed-dim', '16', '--weights', weights, '--images', images, '--out', out, '--resize', '28', '--crop', '28']);
  assert.equal(result.status, 0, result.stderr);
  const expected: number[] = [];
  for (let i = 0; i < 3; i++) {
    const { data, shape } = await decodeImageFile(join(images, `${i}.png`), { resize: 28, crop: 28, channels: 1 });
    assert.deepEqual(shape, [1, 28, 28]);
    expected.push(...tidy(() => T.noGrad(() => model.forward(T.tensor(data, [1, ...shape])).toNumbers())));
  }
  const got = tidy(() => readSafetensors(out).tensors.get('embeddings')!.toNumbers());
  assert.equal(got.length, 3 * 16);
  got.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-5, `element ${i}: ${v} vs ${expected[i]}`));
});
