// Decoding with sharp (libvips); in-memory images are handled in JavaScript. A file is read
// once into memory: its header gives the size for planning a crop, then one sharp pipeline
// crops, resizes and returns raw pixels. libvips runs on libuv's thread pool, so many images
// decode in parallel while the event loop stays free.
// Images are not rotated by their EXIF orientation, as PIL (and so the reference code) does not.
import { promises as fs } from 'node:fs';
import sharp, { type Sharp } from 'sharp';
import { coversWhole, type Rect, type Size } from './crop.js';
import { ImageDecodeError, reasonOf } from './errors.js';
import { cropRaw, type RawImage } from './pixels.js';
import { resizeBilinear } from './resample.js';
import type { ImageSource } from './types.js';

/**
 * Images above this many pixels are refused from their header: 64 megapixels (8000x8000) is far
 * beyond any metric-learning dataset, and a few decoded at once stay within a few GB.
 */
export const MAX_IMAGE_PIXELS = 64_000_000;

function checkPixels(name: string, width: number, height: number): void {
  if (width * height > MAX_IMAGE_PIXELS) throw new ImageDecodeError(name, `${width}x${height} pixels is more than the ${MAX_IMAGE_PIXELS} an image may have`);
}

/** What to do to an image, decided from its size before any pixel is touched. */
export interface ImagePlan {
  /** Region cut from the original before resampling. */
  readonly preCrop?: Rect;
  /** Size to resample to; absent when no resampling is needed. */
  readonly resize?: Size;
  /** Region cut after resampling. */
  readonly postCrop?: Rect;
  /** Mirror left-right. */
  readonly flip: boolean;
}

/** An image whose size is known and whose pixels can be produced on request. */
export interface OpenedImage extends Size {
  readonly name: string;
  render(plan: ImagePlan): Promise<RawImage>;
}

/** Opens a source: reads a file and its header, or wraps in-memory pixels. */
export async function openImage(source: ImageSource): Promise<OpenedImage> {
  if (source.kind === 'pixels') {
    const raw: RawImage = source;
    return {
      name: source.name,
      width: source.width,
      height: source.height,
      render: (plan) => Promise.resolve(renderInMemory(raw, plan)),
    };
  }
  let bytes: Uint8Array;
  if (source.kind === 'bytes') bytes = source.bytes;
  else {
    try {
      bytes = await fs.readFile(source.path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new ImageDecodeError(source.name, code === 'ENOENT' ? 'file not found' : reasonOf(err));
    }
  }
  let size: Size;
  try {
    const meta = await sharp(bytes).metadata();
    if (!meta.width || !meta.height) throw new Error('no image size in the header');
    size = { width: meta.width, height: meta.height };
  } catch (err) {
    throw new ImageDecodeError(source.name, reasonOf(err));
  }
  checkPixels(source.name, size.width, size.height);
  return { name: source.name, ...size, render: (plan) => renderWithSharp(source.name, sharp(bytes, { limitInputPixels: MAX_IMAGE_PIXELS }), plan) };
}

/** Decodes every pixel of a source (what `data check` does to prove an image is readable). */
export async function decodeFully(source: ImageSource): Promise<Size> {
  if (source.kind === 'pixels') {
    if (source.data.length !== source.width * source.height * source.channels) {
      throw new ImageDecodeError(source.name, 'pixel buffer does not match its size');
    }
    return source;
  }
  let size: Size;
  try {
    const meta = await sharp(source.kind === 'bytes' ? source.bytes : source.path).metadata();
    size = { width: meta.width ?? 0, height: meta.height ?? 0 };
  } catch (err) {
    const missing = reasonOf(err).startsWith('Input file is missing');
    throw new ImageDecodeError(source.name, missing ? 'file not found' : reasonOf(err));
  }
  checkPixels(source.name, size.width, size.height); // from the header, before any pixel is decoded
  try {
    const { info } = await sharp(source.kind === 'bytes' ? source.bytes : source.path, { limitInputPixels: MAX_IMAGE_PIXELS }).raw().toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height };
  } catch (err) {
    const missing = reasonOf(err).startsWith('Input file is missing');
    throw new ImageDecodeError(source.name, missing ? 'file not found' : reasonOf(err));
  }
}

async function renderWithSharp(name: string, pipeline: Sharp, plan: ImagePlan): Promise<RawImage> {
  let img = pipeline;
  if (plan.preCrop) img = img.extract(plan.preCrop);
  if (plan.resize) img = img.resize(plan.resize.width, plan.resize.height, { fit: 'fill', kernel: 'linear' });
  if (plan.postCrop) img = img.extract(plan.postCrop);
  try {
    const { data, info } = await img.removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 1 && info.channels !== 3) throw new Error(`unexpected ${info.channels} colour channels`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: info.channels };
  } catch (err) {
    throw new ImageDecodeError(name, reasonOf(err));
  }
}

/**
 * In-memory images are small (MNIST-sized) and processed in JavaScript: a libvips call has a
 * fixed cost near 1 ms, far above the work itself.
 */
function renderInMemory(image: RawImage, plan: ImagePlan): RawImage {
  let out = image;
  const whole = { left: 0, top: 0, width: image.width, height: image.height };
  if (plan.resize) out = resizeBilinear(out, plan.preCrop ?? whole, plan.resize);
  else if (plan.preCrop && !coversWhole(plan.preCrop, out)) out = cropRaw(out, plan.preCrop);
  if (plan.postCrop && !coversWhole(plan.postCrop, out)) out = cropRaw(out, plan.postCrop);
  return out;
}
