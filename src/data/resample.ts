// Bilinear resampling in JavaScript for small in-memory images (MNIST-sized): a libvips call
// costs ~1 ms of fixed overhead per image, this ~50 µs. Like PIL's bilinear filter (what the
// reference code uses), the triangle kernel widens by the shrink factor when downscaling, so
// shrinking averages instead of aliasing. Works separably: rows, then columns.
import type { Rect, Size } from './crop.js';
import type { RawImage } from './pixels.js';

/** For each output position along one axis: the first source index and its weights. */
interface Taps {
  readonly first: Int32Array;
  readonly count: Int32Array;
  /** `stride` weights per output position, normalized to sum 1. */
  readonly weights: Float64Array;
  readonly stride: number;
}

function taps(start: number, length: number, outLength: number): Taps {
  const scale = length / outLength;
  const support = Math.max(scale, 1); // the kernel's half-width in source pixels
  const stride = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outLength);
  const count = new Int32Array(outLength);
  const weights = new Float64Array(outLength * stride);
  for (let i = 0; i < outLength; i++) {
    const center = start + (i + 0.5) * scale;
    // Only pixels of the region contribute: it was cut out before resizing.
    const lo = Math.max(start, Math.floor(center - support));
    const hi = Math.min(start + length, Math.ceil(center + support));
    let total = 0;
    let n = 0;
    for (let j = lo; j < hi && n < stride; j++, n++) {
      const w = Math.max(0, 1 - Math.abs(j + 0.5 - center) / support);
      weights[i * stride + n] = w;
      total += w;
    }
    for (let k = 0; k < n; k++) weights[i * stride + k] = (weights[i * stride + k] as number) / (total || 1);
    first[i] = lo;
    count[i] = n;
  }
  return { first, count, weights, stride };
}

/** Resamples `region` of `image` to `size`. */
export function resizeBilinear(image: RawImage, region: Rect, size: Size): RawImage {
  const { channels, width } = image;
  const h = taps(region.left, region.width, size.width);
  const v = taps(region.top, region.height, size.height);
  // Horizontal pass over the rows the region covers, kept in floats.
  const rows = new Float64Array(region.height * size.width * channels);
  for (let y = 0; y < region.height; y++) {
    const srcRow = (region.top + y) * width;
    for (let x = 0; x < size.width; x++) {
      const base = x * h.stride;
      const from = h.first[x] as number;
      const n = h.count[x] as number;
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let k = 0; k < n; k++) sum += (h.weights[base + k] as number) * (image.data[(srcRow + from + k) * channels + c] as number);
        rows[(y * size.width + x) * channels + c] = sum;
      }
    }
  }
  // Vertical pass; row indices are relative to the region's top.
  const out = new Uint8Array(size.width * size.height * channels);
  for (let y = 0; y < size.height; y++) {
    const base = y * v.stride;
    const from = (v.first[y] as number) - region.top;
    const n = v.count[y] as number;
    for (let x = 0; x < size.width; x++) {
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let k = 0; k < n; k++) sum += (v.weights[base + k] as number) * (rows[((from + k) * size.width + x) * channels + c] as number);
        out[(y * size.width + x) * channels + c] = Math.min(255, Math.max(0, Math.round(sum)));
      }
    }
  }
  return { data: out, width: size.width, height: size.height, channels };
}
