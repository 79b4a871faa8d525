// Model metadata and flags that ask for more memory than real use: a model file recording a
// 8192-pixel image size (once embed's default crop, whose first convolution on two images asked
// for 17 GB) is refused by name; crops beyond the model limit are refused as flags; and a batch and
// crop whose forward pass cannot fit the machine are refused before work starts, by the estimate
// of src/nn/memory-estimate.ts, with an error naming --batch-size and the size flag to lower.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { loadModelFile, MODEL_LIMITS, writeModelFile } from '../../src/formats/index.js';
import { createModel, forwardPeakBytes } from '../../src/nn/index.js';
import { availableMemory, readSafetensors, tensor, writeSafetensors } from '../../src/torch/index.js';
import { runMdprop } from '../helpers/cli.js';
import { writeNoisePng } from '../cli/embed-helpers.js';
import { tempDir } from '../train/helpers.js';

const dir = tempDir('faults-metadata');
const model = join(dir, 'small.safetensors');
const images = join(dir, 'images');

before(async () => {
  const m = createModel({ arch: 'resnet-small', embedDim: 8 });
  writeModelFile(model, m, { arch: 'resnet-small', embedDim: 8, inChannels: 3, imageSize: 32, testResize: 32, method: 'baseline', dataset: 'cifar', epoch: 1 });
  m.dispose();
  await writeNoisePng(join(images, 'a.png'), 40, 40, 1);
});

describe('untrusted metadata and memory estimates', () => {
  it('a model file recording an image size beyond the limit is refused by name', () => {
    const { tensors, metadata } = readSafetensors(model);
    const hostile = join(dir, 'huge-size.safetensors');
    writeSafetensors(hostile, tensors, { ...metadata, image_size: '8192' });
    for (const t of tensors.values()) t.dispose();
    assert.throws(() => loadModelFile(hostile), (err: Error) => err.name === 'FormatError' && err.message.startsWith(`${hostile}: "metadata.image_size": `) && /1024/.test(err.message));
    assert.equal(MODEL_LIMITS.imageSize, 1024);
  });

  it('embed refuses a crop beyond the limit and a batch whose forward pass cannot fit, before reading images', async () => {
    const out = join(dir, 'e.safetensors');
    const crop = await runMdprop(['embed', '--weights', model, '--images', images, '--out', out, '--crop', '8192', '--resize', '8192']);
    assert.equal(crop.code, 2, crop.stderr);
    assert.match(crop.stderr, /--crop: expected an integer in 1\.\.1024, got 8192/);
    const huge = await runMdprop(['embed', '--weights', model, '--images', images, '--out', out, '--crop', '1024', '--resize', '1024', '--batch-size', '65536']);
    assert.equal(huge.code, 2, huge.stderr);
    assert.match(huge.stderr, /--batch-size: a forward pass of resnet-small on 65536 images of 1024x1024 needs about [\d.]+ GiB; this machine has [\d.]+ (GiB|MiB) available \(\w+\); lower batchSize \(--batch-size\) or crop \(--crop\)/);
    const fine = await runMdprop(['embed', '--weights', model, '--images', images, '--out', out]);
    assert.equal(fine.code, 0, fine.stderr);
  });

  it('train refuses a step whose estimate exceeds the machine, naming --batch-size and --image-size', async (t) => {
    const step = { arch: 'resnet18', embedDim: 128, inChannels: 1, imageSize: 1024, batch: 1024, kind: 'training' } as const;
    if (forwardPeakBytes(step) < availableMemory().bytes) return t.skip('this machine could hold the step');
    const r = await runMdprop(['train', '--dataset', 'mnist', '--arch', 'resnet18', '--image-size', '1024', '--test-resize', '1024', '--batch-size', '1024', '--out', join(dir, 'run')]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /a training step of resnet18 on 2048 images \(the batch of 1024 with its mdprop examples\) of 1024x1024 needs about [\d.]+ GiB; this machine has .* available .*; lower --batch-size \(1024\) or --image-size \(1024\)/);
  });

  it('weights holding NaN or infinities are refused by embed and by train --pretrained, naming the tensor', async () => {
    const { tensors, metadata } = readSafetensors(model);
    const name = 'layer2.0.bn1.running_var';
    const n = tensors.get(name)!.numel;
    tensors.get(name)!.dispose();
    tensors.set(name, tensor(Float32Array.from({ length: n }, (_, i) => (i % 2 ? Number.NaN : Number.NEGATIVE_INFINITY))));
    const poisoned = join(dir, 'nan.safetensors');
    writeSafetensors(poisoned, tensors, metadata);
    for (const t of tensors.values()) t.dispose();
    const embed = await runMdprop(['embed', '--weights', poisoned, '--images', images, '--out', join(dir, 'nan-e.safetensors')]);
    assert.equal(embed.code, 2, embed.stderr);
    assert.match(embed.stderr, new RegExp(`nan\\.safetensors: "layer2\\.0\\.bn1\\.running_var": holds ${n} NaN or infinite values \\(of ${n}\\); weights must be finite numbers`));
    const train = await runMdprop(['train', '--dataset', 'mnist', '--arch', 'resnet-small', '--channels', '3', '--pretrained', poisoned, '--epochs', '1', '--batch-size', '8', '--limit-train', '16', '--out', join(dir, 'nan-run')]);
    assert.equal(train.code, 2, train.stderr);
    assert.match(train.stderr, /--pretrained .*nan\.safetensors: tensor layer2\.0\.bn1\.running_var holds \d+ NaN or infinite values/);
  });

  it('the estimate of a c2f2 pass equals the hand count of its activations and parameters', () => {
    // Per image: input 784; conv1 32x28x28 = 25088 and its ReLU 25088; pool 32x14x14 = 6272; conv2
    // 64x14x14 = 12544 and its ReLU 12544; pool 64x7x7 = 3136; hidden 1024 and its ReLU 1024; the
    // head's output and its normalisation 2 x 128. Parameters: 832 + 51264 + 3212288 + 131200.
    const perImage = 784 + 25088 * 2 + 6272 + 12544 * 2 + 3136 + 1024 * 2 + 256;
    const params = 832 + 51264 + 3212288 + 131200;
    assert.equal(forwardPeakBytes({ arch: 'c2f2', embedDim: 128, inChannels: 1, imageSize: 28, batch: 512, kind: 'inference' }), 1.5 * 4 * (512 * perImage + params));
    // With gradients, every output is kept plus twice the largest (25088), and the parameters' gradients.
    assert.equal(forwardPeakBytes({ arch: 'c2f2', embedDim: 128, inChannels: 1, imageSize: 28, batch: 512, kind: 'input-gradient' }), 1.5 * 4 * (512 * (perImage + 2 * 25088) + 2 * params));
    // Linear in the batch, and about quadratic in the side for a ResNet.
    const at = (imageSize: number, batch: number) => forwardPeakBytes({ arch: 'resnet50', embedDim: 128, inChannels: 3, imageSize, batch, kind: 'inference' }) - forwardPeakBytes({ arch: 'resnet50', embedDim: 128, inChannels: 3, imageSize, batch: 0, kind: 'inference' });
    assert.equal(at(224, 64), 8 * at(224, 8));
    assert.ok(Math.abs(at(448, 8) / at(224, 8) - 4) < 0.05);
  });
});
