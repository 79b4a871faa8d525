// The image transforms of the protocol, as plain data plus one function that applies them.
//   train: random resized crop (torchvision's, scale 0.08-1, ratio 3/4-4/3), horizontal flip,
//          normalization.
//   test:  resize the shorter side, center crop, normalization.
// Randomness comes from a Random passed in, so the loader can give each image its own stream.
import { centerCrop, coversWhole, randomResizedCrop, shorterSideSize, type Size } from './crop.js';
import { openImage, type ImagePlan } from './image-io.js';
import { normalizationTables, writeNormalizedCHW } from './pixels.js';
import type { Random } from './random.js';
import type { ImageSource } from './types.js';

export const IMAGENET_MEAN: readonly number[] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: readonly number[] = [0.229, 0.224, 0.225];
/** For one output channel: the average of ImageNet's, so grey inputs keep the same scale. */
export const GREY_MEAN: readonly number[] = [0.449];
export const GREY_STD: readonly number[] = [0.226];

/**
 * The mean and std a transform applies: 'mean-std' the defaults below (ImageNet's, or their grey
 * average), 'none' mean 0 and std 1 so inputs stay pixels in [0, 1] (the adversarial-ranking
 * literature's Fashion-MNIST setting, where budgets such as 77/255 are pixel fractions).
 */
export function inputScaling(kind: 'mean-std' | 'none', channels: 1 | 3): { mean: readonly number[]; std: readonly number[] } {
  if (kind === 'mean-std') return channels === 3 ? { mean: IMAGENET_MEAN, std: IMAGENET_STD } : { mean: GREY_MEAN, std: GREY_STD };
  return { mean: new Array<number>(channels).fill(0), std: new Array<number>(channels).fill(1) };
}

/** The training transform without augmentation: the whole image, never flipped. */
export const NO_AUGMENTATION = { scale: [1, 1], ratio: [1, 1], flipProbability: 0 } as const;

interface Common {
  /** Output channels: 3 (grey images replicated) or 1 (colour images reduced to luma). */
  readonly channels: 1 | 3;
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

export interface TrainTransform extends Common {
  readonly kind: 'train';
  /** Side of the square output. */
  readonly size: number;
  readonly scale: readonly [number, number];
  readonly ratio: readonly [number, number];
  readonly flipProbability: number;
}

export interface TestTransform extends Common {
  readonly kind: 'test';
  /** The shorter side is resized to this... */
  readonly resize: number;
  /** ...then a centred square of this side is cut. */
  readonly crop: number;
}

export type Transform = TrainTransform | TestTransform;

export type TrainTransformOptions = Partial<Omit<TrainTransform, 'kind'>>;
export type TestTransformOptions = Partial<Omit<TestTransform, 'kind'>>;

export function trainTransform(options: TrainTransformOptions = {}): TrainTransform {
  const t: TrainTransform = {
    kind: 'train',
    size: options.size ?? 224,
    scale: options.scale ?? [0.08, 1],
    ratio: options.ratio ?? [3 / 4, 4 / 3],
    flipProbability: options.flipProbability ?? 0.5,
    ...normalizationOptions(options),
  };
  checkSide('size', t.size);
  checkRange('scale', t.scale, 1);
  checkRange('ratio', t.ratio, Infinity);
  if (!(t.flipProbability >= 0 && t.flipProbability <= 1)) throw new RangeError(`flipProbability must be in [0, 1], got ${t.flipProbability}`);
  return t;
}

export function testTransform(options: TestTransformOptions = {}): TestTransform {
  const t: TestTransform = {
    kind: 'test',
    resize: options.resize ?? 256,
    crop: options.crop ?? 224,
    ...normalizationOptions(options),
  };
  checkSide('resize', t.resize);
  checkSide('crop', t.crop);
  if (t.crop > t.resize) throw new RangeError(`crop (${t.crop}) must not exceed resize (${t.resize})`);
  return t;
}

/** Channels, height and width of what a transform produces. */
export function outputShape(t: Transform): [number, number, number] {
  const side = t.kind === 'train' ? t.size : t.crop;
  return [t.channels, side, side];
}

/** Decides crop, resize and flip for an image of `size`; uses `rng` only for the train transform. */
export function planTransform(t: Transform, size: Size, rng: Random | undefined): ImagePlan {
  if (t.kind === 'train') {
    if (!rng) throw new Error('the train transform needs a random generator');
    const crop = randomResizedCrop(size, t.scale, t.ratio, rng);
    const flip = t.flipProbability > 0 && rng.bool(t.flipProbability);
    const resample = crop.width !== t.size || crop.height !== t.size;
    return {
      ...(coversWhole(crop, size) ? {} : { preCrop: crop }),
      ...(resample ? { resize: { width: t.size, height: t.size } } : {}),
      flip,
    };
  }
  const resized = shorterSideSize(size, t.resize);
  const resample = resized.width !== size.width || resized.height !== size.height;
  const crop = centerCrop(resized, t.crop);
  return {
    ...(resample ? { resize: resized } : {}),
    ...(coversWhole(crop, resized) ? {} : { postCrop: crop }),
    flip: false,
  };
}

/**
 * Decodes `source`, transforms it and writes the normalized CHW result into `out` at `offset`
 * (length: the product of outputShape). Errors name the image.
 */
export async function transformInto(source: ImageSource, t: Transform, rng: Random | undefined, out: Float32Array, offset: number): Promise<void> {
  const image = await openImage(source);
  const plan = planTransform(t, image, rng);
  const raw = await image.render(plan);
  writeNormalizedCHW(raw, tablesFor(t), plan.flip, out, offset);
}

/** Decodes and transforms one image into its own buffer. */
export async function transformImage(source: ImageSource, t: Transform, rng?: Random): Promise<{ data: Float32Array; shape: [number, number, number] }> {
  const shape = outputShape(t);
  const data = new Float32Array(shape[0] * shape[1] * shape[2]);
  await transformInto(source, t, rng, data, 0);
  return { data, shape };
}

export interface DecodeOptions {
  /** Shorter side after resizing (default 256). */
  readonly resize?: number;
  /** Side of the centred square crop (default 224). */
  readonly crop?: number;
  /** 3 (RGB, the default) or 1 (grey, for models trained on MNIST-like data). */
  readonly channels?: 1 | 3;
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
}

/**
 * One image file to a normalized CHW Float32Array of shape [3, crop, crop], as evaluation sees
 * it: RGB, shorter side resized to `resize`, centre-cropped to `crop`, scaled to [0, 1],
 * normalized (ImageNet mean/std by default). An image already crop x crop with resize equal
 * to crop is not resampled. Errors name `file`.
 */
export function decodeImageFile(file: string, options: DecodeOptions = {}): Promise<{ data: Float32Array; shape: [number, number, number] }> {
  const t = testTransform({ ...options, channels: options.channels ?? 3 });
  return transformImage({ kind: 'file', path: file, name: file }, t);
}

const tableCache = new WeakMap<Transform, Float32Array[]>();

function tablesFor(t: Transform): Float32Array[] {
  let tables = tableCache.get(t);
  if (!tables) {
    tables = normalizationTables(t);
    tableCache.set(t, tables);
  }
  return tables;
}

function normalizationOptions(options: Partial<Common>): Common {
  const channels = options.channels ?? 3;
  if (channels !== 1 && channels !== 3) throw new RangeError(`channels must be 1 or 3, got ${String(channels)}`);
  const mean = options.mean ?? (channels === 3 ? IMAGENET_MEAN : GREY_MEAN);
  const std = options.std ?? (channels === 3 ? IMAGENET_STD : GREY_STD);
  if (mean.length !== channels || std.length !== channels) {
    throw new RangeError(`mean and std need ${channels} values each, got ${mean.length} and ${std.length}`);
  }
  if (std.some((s) => !(s > 0))) throw new RangeError(`std values must be positive, got ${std.join(', ')}`);
  return { channels, mean, std };
}

function checkSide(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
}

function checkRange(name: string, range: readonly [number, number], max: number): void {
  const [lo, hi] = range;
  if (!(lo > 0 && lo <= hi && hi <= max)) throw new RangeError(`${name} must be [lo, hi] with 0 < lo <= hi <= ${max}, got [${lo}, ${hi}]`);
}
