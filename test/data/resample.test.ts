// The JavaScript bilinear resampler used for in-memory images, against values worked by hand
// from PIL's convention (pixel centres at j + 0.5, triangle kernel widened when shrinking).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resizeBilinear } from '../../src/data/resample.js';

/** A one-row horizontal ramp v(j) = 10 j, `height` rows tall, grey. */
function ramp(width: number, height: number): { data: Uint8Array; width: number; height: number; channels: number } {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = 10 * x;
  return { data, width, height, channels: 1 };
}

test('upscaling a ramp by 2 interpolates between pixel centres', () => {
  const image = ramp(10, 2);
  const out = resizeBilinear(image, { left: 0, top: 0, width: 10, height: 2 }, { width: 20, height: 4 });
  for (let i = 1; i < 19; i++) assert.equal(out.data[i], Math.round(10 * ((i + 0.5) / 2 - 0.5)), `x=${i}`);
  assert.equal(out.data[0], 0, 'the edge repeats the first pixel');
});

test('downscaling a ramp by 2 averages with a widened triangle', () => {
  const image = ramp(20, 1);
  const out = resizeBilinear(image, { left: 0, top: 0, width: 20, height: 1 }, { width: 10, height: 1 });
  for (let i = 1; i < 9; i++) assert.equal(out.data[i], 20 * i + 5, `x=${i}`);
});

test('only the region contributes, and flat colour stays flat in every channel', () => {
  const image = ramp(12, 3);
  const out = resizeBilinear(image, { left: 4, top: 1, width: 1, height: 1 }, { width: 5, height: 5 });
  assert.ok(out.data.every((v) => v === 40));
  const rgb = { data: new Uint8Array(6 * 6 * 3).map((_, i) => [10, 120, 250][i % 3] as number), width: 6, height: 6, channels: 3 };
  const big = resizeBilinear(rgb, { left: 1, top: 1, width: 4, height: 3 }, { width: 9, height: 7 });
  assert.equal(big.data.length, 9 * 7 * 3);
  assert.ok(big.data.every((v, i) => v === [10, 120, 250][i % 3]));
});
