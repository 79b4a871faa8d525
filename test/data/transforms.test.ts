// Transforms on hand-made images whose expected output can be written down, plus the crop
// geometry against torchvision's rules.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { centerCrop, randomResizedCrop, roundHalfEven, shorterSideSize } from '../../src/data/crop.js';
import {
  decodeImageFile,
  ImageDecodeError,
  planTransform,
  Random,
  testTransform,
  trainTransform,
  transformImage,
  type ImageSource,
} from '../../src/data/index.js';
import { tempDir, writeCorrupt } from './fixtures.js';

const tmp = tempDir('transforms');
after(tmp.cleanup);

// Written out, not imported, so a changed constant in the code fails these tests.
// ImageNet's per-channel statistics as published with torchvision's pretrained models.
const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];
// Grey (one channel): the averages of ImageNet's three, as src/data/transforms.ts defines them.
const GREY_MEAN = [0.449];
const GREY_STD = [0.226];

/** An RGB image where pixel (x, y) is [x * 10, y * 10, (x + y) % 256]. */
function gradient(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set([x * 10, y * 10, (x + y) % 256], (y * width + x) * 3);
  }
  return data;
}

async function pngFile(name: string, data: Uint8Array, width: number, height: number, channels: 1 | 3 = 3): Promise<ImageSource> {
  const file = path.join(tmp.dir, name);
  let img = sharp(data, { raw: { width, height, channels } });
  if (channels === 1) img = img.toColourspace('b-w');
  await img.png().toFile(file);
  return { kind: 'file', path: file, name };
}

function pixels(data: Uint8Array, width: number, height: number, channels: number): ImageSource {
  return { kind: 'pixels', data, width, height, channels, name: 'hand-made' };
}

/** Expected CHW output of a crop of an RGB image, optionally mirrored, scaled to [0, 1] (mean 0, std 1). */
function expectedCrop(data: Uint8Array, width: number, left: number, top: number, side: number, flip: boolean): number[] {
  const out: number[] = [];
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const sx = left + (flip ? side - 1 - x : x);
        out.push((data[((top + y) * width + sx) * 3 + c] as number) / 255);
      }
    }
  }
  return out;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-6): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs((actual[i] as number) - (expected[i] as number)) <= tolerance, `at ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

test('geometry follows torchvision: round half to even, shorter side, centre crop', () => {
  assert.deepEqual([0.5, 1.5, 2.5, 3.4, 3.6].map(roundHalfEven), [0, 2, 2, 3, 4]);
  assert.deepEqual(shorterSideSize({ width: 400, height: 300 }, 256), { width: 341, height: 256 });
  assert.deepEqual(shorterSideSize({ width: 300, height: 500 }, 256), { width: 256, height: 426 });
  assert.deepEqual(centerCrop({ width: 293, height: 256 }, 224), { left: 34, top: 16, width: 224, height: 224 });
  assert.deepEqual(centerCrop({ width: 295, height: 256 }, 224), { left: 36, top: 16, width: 224, height: 224 });
  assert.throws(() => centerCrop({ width: 100, height: 300 }, 224), /larger than the image/);
});

test('random resized crop stays inside the image, within scale and ratio, and falls back to a centre crop', () => {
  const size = { width: 500, height: 375 };
  for (let seed = 0; seed < 300; seed++) {
    const r = randomResizedCrop(size, [0.08, 1], [3 / 4, 4 / 3], new Random(seed));
    assert.ok(r.left >= 0 && r.top >= 0 && r.left + r.width <= size.width && r.top + r.height <= size.height, JSON.stringify(r));
    const area = (r.width * r.height) / (size.width * size.height);
    assert.ok(area > 0.075 && area < 1.01, `area ${area}`);
    const ratio = r.width / r.height;
    assert.ok(ratio > 0.7 && ratio < 1.4, `ratio ${ratio}`);
  }
  // No crop of the whole area can have ratio 2 in a square: 10 failures, then the widest centred one.
  assert.deepEqual(randomResizedCrop({ width: 100, height: 100 }, [1, 1], [2, 2], new Random(0)), { left: 0, top: 25, width: 100, height: 50 });
});

test('test transform: no resampling when the shorter side equals resize; centred crop; normalization', async () => {
  const data = gradient(6, 4);
  const t = testTransform({ resize: 4, crop: 4 });
  assert.deepEqual(planTransform(t, { width: 6, height: 4 }, undefined), { postCrop: { left: 1, top: 0, width: 4, height: 4 }, flip: false });
  const expected = expectedCrop(data, 6, 1, 0, 4, false).map((v, i) => (v - (IMAGENET_MEAN[Math.floor(i / 16)] as number)) / (IMAGENET_STD[Math.floor(i / 16)] as number));
  for (const source of [pixels(data, 6, 4, 3), await pngFile('gradient.png', data, 6, 4)]) {
    const out = await transformImage(source, t);
    assert.deepEqual(out.shape, [3, 4, 4]);
    assertClose(out.data, expected, 1e-5);
  }
});

test('train transform: the planned crop and flip are exactly what comes out', async () => {
  const data = gradient(8, 8);
  const t = trainTransform({ size: 4, scale: [0.25, 0.25], ratio: [1, 1], mean: [0, 0, 0], std: [1, 1, 1] });
  const file = await pngFile('gradient8.png', data, 8, 8);
  const flips = new Set<boolean>();
  for (let seed = 0; seed < 12; seed++) {
    const plan = planTransform(t, { width: 8, height: 8 }, new Random(seed));
    assert.equal(plan.resize, undefined, 'a 4x4 crop to size 4 needs no resampling');
    const crop = plan.preCrop;
    assert.ok(crop && crop.width === 4 && crop.height === 4);
    flips.add(plan.flip);
    const expected = expectedCrop(data, 8, crop.left, crop.top, 4, plan.flip);
    for (const source of [pixels(data, 8, 8, 3), file]) {
      const out = await transformImage(source, t, new Random(seed));
      assertClose(out.data, expected);
    }
  }
  assert.deepEqual([...flips].sort(), [false, true]);
});

test('train transform resamples deterministically for a seed', async () => {
  const data = gradient(20, 16);
  const source = await pngFile('gradient20.png', data, 20, 16);
  const t = trainTransform({ size: 12 });
  const a = await transformImage(source, t, new Random(5));
  const b = await transformImage(source, t, new Random(5));
  const c = await transformImage(source, t, new Random(6));
  assert.deepEqual(a.shape, [3, 12, 12]);
  assert.deepEqual(a.data, b.data);
  assert.notDeepEqual(a.data, c.data);
  await assert.rejects(transformImage(source, t), /needs a random generator/);
});

test('grey 28x28 images: replicated to 3 channels, upscaled, or kept as 1 channel', async () => {
  const grey = new Uint8Array(28 * 28).map((_, i) => i % 256);
  const source = pixels(grey, 28, 28, 1);
  const three = await transformImage(source, testTransform({ resize: 28, crop: 28 }));
  assert.deepEqual(three.shape, [3, 28, 28]);
  for (let c = 0; c < 3; c++) {
    for (const i of [0, 100, 783]) {
      const expected = ((grey[i] as number) / 255 - (IMAGENET_MEAN[c] as number)) / (IMAGENET_STD[c] as number);
      assert.ok(Math.abs((three.data[c * 784 + i] as number) - expected) < 1e-6);
    }
  }
  const one = await transformImage(source, testTransform({ resize: 28, crop: 28, channels: 1 }));
  assert.deepEqual(one.shape, [1, 28, 28]);
  assert.ok(Math.abs((one.data[100] as number) - ((grey[100] as number) / 255 - (GREY_MEAN[0] as number)) / (GREY_STD[0] as number)) < 1e-6);
  const flat = pixels(new Uint8Array(28 * 28).fill(128), 28, 28, 1);
  const big = await transformImage(flat, testTransform({ resize: 64, crop: 56, mean: [0, 0, 0], std: [1, 1, 1] }));
  assert.deepEqual(big.shape, [3, 56, 56]);
  assert.ok(big.data.every((v) => Math.abs(v - 128 / 255) < 1e-6), 'a flat image stays flat when upscaled');
  const bigTrain = await transformImage(flat, trainTransform({ size: 64 }), new Random(1));
  assert.deepEqual(bigTrain.shape, [3, 64, 64]);
});

test('colour to one channel uses ITU-R 601 luma', async () => {
  const rgb = new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]);
  const out = await transformImage(pixels(rgb, 2, 2, 3), testTransform({ resize: 2, crop: 2, channels: 1, mean: [0], std: [1] }));
  assertClose(out.data, [76, 150, 29, 18].map((v) => v / 255));
});

test('decodeImageFile: resize shorter side, centre crop, ImageNet normalization; exact when already crop-sized', async () => {
  const data = new Uint8Array(32 * 32 * 3).map((_, i) => (i * 37) % 256);
  const file = await pngFile('noise32.png', data, 32, 32);
  const exact = await decodeImageFile(file.kind === 'file' ? file.path : '', { resize: 32, crop: 32 });
  assert.deepEqual(exact.shape, [3, 32, 32]);
  const expected = expectedCrop(data, 32, 0, 0, 32, false).map((v, i) => (v - (IMAGENET_MEAN[Math.floor(i / 1024)] as number)) / (IMAGENET_STD[Math.floor(i / 1024)] as number));
  assertClose(exact.data, expected, 1e-5);

  const wide = await pngFile('wide.png', gradient(30, 20), 30, 20);
  const small = await decodeImageFile(wide.kind === 'file' ? wide.path : '', { resize: 16, crop: 12 });
  assert.deepEqual(small.shape, [3, 12, 12]);
  const grey = await pngFile('grey.png', new Uint8Array(40 * 30).fill(77), 40, 30, 1);
  const fromGrey = await decodeImageFile(grey.kind === 'file' ? grey.path : '', { resize: 24, crop: 24 });
  assert.deepEqual(fromGrey.shape, [3, 24, 24]);
  assert.ok(Math.abs((fromGrey.data[0] as number) - (77 / 255 - 0.485) / 0.229) < 1e-5);
  assert.ok(Math.abs((fromGrey.data[24 * 24 * 2] as number) - (77 / 255 - 0.406) / 0.225) < 1e-5);
});

test('a corrupt or missing image is an ImageDecodeError naming its path', async () => {
  const bad = path.join(tmp.dir, 'broken.jpg');
  await writeCorrupt(bad);
  await assert.rejects(decodeImageFile(bad), (err: unknown) => err instanceof ImageDecodeError && err.path === bad && err.message.includes(bad));
  const source: ImageSource = { kind: 'file', path: path.join(tmp.dir, 'gone.jpg'), name: 'class/gone.jpg' };
  await assert.rejects(transformImage(source, testTransform()), /cannot decode image class\/gone.jpg: file not found/);
});

test('bad options are refused', () => {
  assert.throws(() => testTransform({ resize: 200, crop: 224 }), /crop \(224\) must not exceed resize/);
  assert.deepEqual([testTransform().mean, testTransform().std], [IMAGENET_MEAN, IMAGENET_STD]);
  assert.deepEqual([trainTransform({ channels: 1 }).mean, trainTransform({ channels: 1 }).std], [GREY_MEAN, GREY_STD]);
  assert.throws(() => trainTransform({ channels: 1, mean: [0.5, 0.5, 0.5] }), /mean and std need 1 values/);
  assert.throws(() => trainTransform({ scale: [0.5, 0.1] }), /scale must be/);
  assert.throws(() => trainTransform({ size: 0 }), /size must be a positive integer/);
  assert.throws(() => testTransform({ std: [1, 0, 1] }), /std values must be positive/);
});
