// Crop and resize geometry, following torchvision so that a model sees the same kind of inputs
// as in the reference PyTorch code: RandomResizedCrop's sampling, Resize's shorter-side rule and
// CenterCrop's rounding (Python's round half to even).
import type { Random } from './random.js';

export interface Rect {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

export interface Size {
  readonly width: number;
  readonly height: number;
}

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * A crop covering a random fraction `scale` of the area with a random aspect ratio `ratio`
 * (log-uniform), placed uniformly; after 10 failed tries, the largest centred crop whose aspect
 * ratio is within `ratio`.
 */
export function randomResizedCrop(
  size: Size,
  scale: readonly [number, number],
  ratio: readonly [number, number],
  rng: Random,
): Rect {
  const { width, height } = size;
  const area = width * height;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logLo, logHi));
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = rng.int(height - h + 1);
      const left = rng.int(width - w + 1);
      return { left, top, width: w, height: h };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < ratio[0]) h = roundHalfEven(w / ratio[0]);
  else if (inRatio > ratio[1]) w = roundHalfEven(h * ratio[1]);
  return { left: Math.floor((width - w) / 2), top: Math.floor((height - h) / 2), width: w, height: h };
}

/** The size after scaling the shorter side to `shorter`, keeping the aspect ratio (long side truncated). */
export function shorterSideSize(size: Size, shorter: number): Size {
  const { width, height } = size;
  if (width <= height) return { width: shorter, height: Math.max(1, Math.floor((shorter * height) / width)) };
  return { width: Math.max(1, Math.floor((shorter * width) / height)), height: shorter };
}

/** A centred crop of `crop` x `crop` pixels. */
export function centerCrop(size: Size, crop: number): Rect {
  if (crop > size.width || crop > size.height) {
    throw new RangeError(`center crop ${crop} is larger than the image (${size.width}x${size.height})`);
  }
  return {
    left: roundHalfEven((size.width - crop) / 2),
    top: roundHalfEven((size.height - crop) / 2),
    width: crop,
    height: crop,
  };
}

export function coversWhole(rect: Rect, size: Size): boolean {
  return rect.left === 0 && rect.top === 0 && rect.width === size.width && rect.height === size.height;
}
