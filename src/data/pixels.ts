// From 8-bit HWC pixels to normalized CHW floats: the last step of every transform, written
// straight into the batch buffer. Mirroring happens here too (cheaper than a resampling pass).
import type { Rect } from './crop.js';

/** 8-bit pixels, row-major, `channels` interleaved values per pixel. */
export interface RawImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
}

export interface Normalization {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/** A lookup table per output channel: byte value -> (value/255 - mean) / std. */
export function normalizationTables(norm: Normalization): Float32Array[] {
  return norm.mean.map((mean, c) => {
    const std = norm.std[c] ?? 1;
    const table = new Float32Array(256);
    for (let v = 0; v < 256; v++) table[v] = (v / 255 - mean) / std;
    return table;
  });
}

/**
 * Writes `image` into `out` at `offset` as CHW with `tables.length` channels: grey input is
 * replicated to 3 channels, colour input reduced to 1 by ITU-R 601 luma (as PIL's "L" mode).
 */
export function writeNormalizedCHW(image: RawImage, tables: readonly Float32Array[], flip: boolean, out: Float32Array, offset: number): void {
  const { data, width, height, channels } = image;
  const plane = width * height;
  const outChannels = tables.length;
  if (channels !== 1 && channels !== 3) throw new Error(`cannot normalize an image with ${channels} channels`);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const src = (y * width + (flip ? width - 1 - x : x)) * channels;
      const dst = offset + y * width + x;
      if (channels === outChannels) {
        for (let c = 0; c < outChannels; c++) out[dst + c * plane] = (tables[c] as Float32Array)[data[src + c] as number] as number;
      } else if (channels === 1) {
        const v = data[src] as number;
        for (let c = 0; c < outChannels; c++) out[dst + c * plane] = (tables[c] as Float32Array)[v] as number;
      } else {
        const luma = Math.round(((data[src] as number) * 299 + (data[src + 1] as number) * 587 + (data[src + 2] as number) * 114) / 1000);
        out[dst] = (tables[0] as Float32Array)[luma] as number;
      }
    }
  }
}

/** A rectangle of an image, copied without resampling. */
export function cropRaw(image: RawImage, rect: Rect): RawImage {
  const { channels } = image;
  const data = new Uint8Array(rect.width * rect.height * channels);
  for (let y = 0; y < rect.height; y++) {
    const from = ((rect.top + y) * image.width + rect.left) * channels;
    data.set(image.data.subarray(from, from + rect.width * channels), y * rect.width * channels);
  }
  return { data, width: rect.width, height: rect.height, channels };
}
