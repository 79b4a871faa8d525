// The one place where an uploaded (untrusted) image becomes a model input: from its bytes only,
// through an allowlist of formats and a pixel limit read from the header before any pixel is
// decoded, then the very transform `mdprop embed` applies to files.
import sharp, { type Metadata } from 'sharp';
import { ImageDecodeError, transformImage, type TestTransform } from '../data/index.js';
import { QueryImageError } from './errors.js';

/** Formats a query may be in (sharp's names). Vector and document formats (SVG, PDF) are not. */
export const QUERY_IMAGE_FORMATS = ['jpeg', 'png', 'webp', 'gif', 'tiff'] as const;

/** 25 megapixels: a 6000x4000 photo; more is refused from the header. */
export const DEFAULT_MAX_QUERY_PIXELS = 25_000_000;

/** Decodes `bytes` to a normalised CHW Float32Array for `transform`, or throws a QueryImageError naming the problem. */
export async function decodeQueryImage(bytes: Uint8Array, transform: TestTransform, maxPixels = DEFAULT_MAX_QUERY_PIXELS): Promise<Float32Array> {
  if (bytes.length === 0) throw new QueryImageError('empty body: expected an image', 400);
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new QueryImageError(`not an image (${(err as Error).message})`, 400);
  }
  const format = meta.format as string | undefined;
  if (format === undefined || !(QUERY_IMAGE_FORMATS as readonly string[]).includes(format)) {
    throw new QueryImageError(`image format '${format ?? 'unknown'}' is not accepted; send ${QUERY_IMAGE_FORMATS.join(', ')}`, 415);
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width < 1 || height < 1) throw new QueryImageError('the image header gives no size', 400);
  if (width * height > maxPixels) throw new QueryImageError(`image of ${width}x${height} pixels is more than the ${maxPixels} allowed`, 413);
  try {
    return (await transformImage({ kind: 'bytes', bytes, name: 'query' }, transform)).data;
  } catch (err) {
    if (err instanceof ImageDecodeError) throw new QueryImageError(`cannot decode the image: ${err.reason}`, 400);
    throw err;
  }
}
