// Decoding with sharp (libvips), always from bytes this module read itself: a file is opened
// without blocking (a FIFO or a device is refused, not waited on), read whole up to
// MAX_IMAGE_FILE_BYTES, and its format, from its first bytes and again as sharp detects it, must be
// one of IMAGE_FORMATS. So a file named .png that holds an SVG never reaches librsvg, which would
// follow its links to other files, and no decoder is ever given a path. The header gives the size
// for planning a crop (refused above MAX_IMAGE_PIXELS), then one sharp pipeline, itself limited to
// MAX_IMAGE_PIXELS, crops, resizes and returns raw pixels. libvips runs on libuv's thread pool, so
// many images decode in parallel while the event loop stays free. In-memory images are handled in
// JavaScript. Images are not rotated by their EXIF orientation, as PIL (and so the reference code) does not.
import sharp, { type Sharp } from 'sharp';
import { readFileCapped } from './capped-read.js';
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

/** Files above this size are refused before they are read (a 64-megapixel JPEG is about 20 MB). */
export const MAX_IMAGE_FILE_BYTES = 128 * 2 ** 20;

/** The formats decoded, as their first bytes show them; SVG, PDF and every other format are refused. */
export const IMAGE_FORMATS = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

/** The format of an image from its first bytes (its magic number); null for anything else. */
export function sniffImageFormat(b: Uint8Array): ImageFormat | null {
  const ascii = (from: number, to: number) => String.fromCharCode(...b.subarray(from, to));
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (ascii(0, 8) === '\x89PNG\r\n\x1a\n') return 'png';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  if (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a') return 'gif';
  if (ascii(0, 4) === 'II*\x00' || ascii(0, 4) === 'MM\x00*') return 'tiff';
  if (ascii(4, 8) === 'ftyp' && ['avif', 'avis'].includes(ascii(8, 12))) return 'avif';
  return null;
}

/** sharp's name of each allowed format (AVIF is read by its HEIF loader). */
const SHARP_FORMAT: Record<ImageFormat, string> = { jpeg: 'jpeg', png: 'png', webp: 'webp', gif: 'gif', tiff: 'tiff', avif: 'heif' };

/** A sharp pipeline over bytes already checked by readImageFile: the pixel limit always applies. */
export function imagePipeline(bytes: Uint8Array): Sharp {
  return sharp(bytes, { limitInputPixels: MAX_IMAGE_PIXELS });
}

/** An image file read and checked: its bytes, its format, and its size from the header. */
export interface CheckedImage extends Size {
  readonly bytes: Buffer;
  readonly format: ImageFormat;
}

/**
 * Reads an image file with a size limit and checks its format (first bytes, then as sharp detects
 * it) and its pixel count from the header. Every failure is an ImageDecodeError naming `name`.
 */
export async function readImageFile(path: string, name: string): Promise<CheckedImage> {
  return checkImageBytes(await readFileCapped(path, MAX_IMAGE_FILE_BYTES, 'an image file', ({ reason }) => new ImageDecodeError(name, reason)), name);
}

/** The checks of readImageFile for bytes already in memory (an upload): format and pixel count from the header. */
export async function checkImageBytes(data: Uint8Array, name: string): Promise<CheckedImage> {
  if (data.length > MAX_IMAGE_FILE_BYTES) throw new ImageDecodeError(name, `${data.length} bytes is more than the ${MAX_IMAGE_FILE_BYTES} an image file may have`);
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const format = sniffImageFormat(bytes);
  if (format === null) throw new ImageDecodeError(name, `not a ${IMAGE_FORMATS.join(', ')} image (by its first bytes); other formats, SVG among them, are not read`);
  let size: Size;
  try {
    // The header alone (no pixel is decoded), so the pixel limit is checked below with its own message.
    const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    if (meta.format !== SHARP_FORMAT[format]) throw new Error(`its first bytes say ${format}, the decoder found ${meta.format ?? 'nothing'}`);
    if (!meta.width || !meta.height) throw new Error('no image size in the header');
    size = { width: meta.width, height: meta.height };
  } catch (err) {
    throw new ImageDecodeError(name, reasonOf(err));
  }
  checkPixels(name, size.width, size.height);
  return { bytes, format, ...size };
}

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
  const image = source.kind === 'bytes' ? await checkImageBytes(source.bytes, source.name) : await readImageFile(source.path, source.name);
  return { name: source.name, width: image.width, height: image.height, render: (plan) => renderWithSharp(source.name, imagePipeline(image.bytes), plan) };
}

/** Decodes every pixel of a source (what `data check` does to prove an image is readable). */
export async function decodeFully(source: ImageSource): Promise<Size> {
  if (source.kind === 'pixels') {
    if (source.data.length !== source.width * source.height * source.channels) {
      throw new ImageDecodeError(source.name, 'pixel buffer does not match its size');
    }
    return source;
  }
  // Size checked from the header, before any pixel is decoded.
  const image = source.kind === 'bytes' ? await checkImageBytes(source.bytes, source.name) : await readImageFile(source.path, source.name);
  try {
    const { info } = await imagePipeline(image.bytes).raw().toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height };
  } catch (err) {
    throw new ImageDecodeError(source.name, reasonOf(err));
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
