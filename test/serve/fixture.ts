// A small index for the service tests (two labels of noise images, an untrained resnet-small),
// built once per test file, and the hostile inputs every route must refuse.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { buildIndex } from '../../src/retrieval/index.js';
import { tempDir, writeGallery, writeTestModel } from '../retrieval/fixture.js';

export interface ServeFixture {
  dir: string;
  index: string;
  images: string;
  model: string;
  paths: string[];
}

export async function buildServeFixture(name: string, perLabel = 12): Promise<ServeFixture> {
  const dir = tempDir(name);
  const images = join(dir, 'images');
  mkdirSync(images);
  const paths = await writeGallery(images, ['cat', 'dog'], perLabel);
  const model = writeTestModel(join(dir, 'model.safetensors'));
  const index = join(dir, 'index');
  await buildIndex({ images }, { model, out: index });
  return { dir, index, images, model, paths };
}

/** Pixels the test services accept at most: small, so a bomb can be small too. */
export const TEST_MAX_PIXELS = 4_000_000;
export const TEST_MAX_BODY = 2 * 1024 * 1024;

export interface HostileInput {
  name: string;
  body: Buffer | string;
  contentType: string;
  status: number;
  /** What the error message must say. */
  message: RegExp;
  query?: string;
}

/** Every kind of bad input the service must answer with a 4xx naming the problem. */
export async function hostileInputs(goodPng: Buffer): Promise<HostileInput[]> {
  // 4000x4000 of one colour: a few kB as PNG, 16 megapixels decoded.
  const bomb = await sharp({ create: { width: 4000, height: 4000, channels: 3, background: '#808080' } }).png({ compressionLevel: 9 }).toBuffer();
  const jpeg = await sharp(goodPng).jpeg().toBuffer();
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><rect width="32" height="32" fill="red"/></svg>';
  return [
    { name: 'not an image', body: Buffer.from('this is plain text, not pixels'), contentType: 'image/png', status: 400, message: /not an image/ },
    { name: 'a truncated PNG', body: goodPng.subarray(0, Math.floor(goodPng.length * 0.6)), contentType: 'image/png', status: 400, message: /cannot decode the image/ },
    { name: 'a truncated JPEG', body: jpeg.subarray(0, Math.floor(jpeg.length * 0.6)), contentType: 'image/jpeg', status: 400, message: /cannot decode the image/ },
    { name: 'a decompression bomb', body: bomb, contentType: 'image/png', status: 413, message: /4000x4000 pixels is more than the 4000000 allowed/ },
    { name: 'an SVG', body: svg, contentType: 'image/svg+xml', status: 415, message: /format 'svg' is not accepted/ },
    { name: 'a JSON body', body: '{"image": "x"}', contentType: 'application/json', status: 415, message: /content type 'application\/json' is not accepted/ },
    { name: 'an unknown content type', body: goodPng, contentType: 'application/x-thing', status: 415, message: /application\/x-thing/ },
    { name: 'a huge body', body: Buffer.alloc(TEST_MAX_BODY + 1024, 1), contentType: 'image/png', status: 413, message: /too large/i },
    { name: 'an empty body', body: Buffer.alloc(0), contentType: 'image/png', status: 400, message: /empty/i },
    { name: 'k = 0', body: goodPng, contentType: 'image/png', status: 400, message: /k must be a whole number from 1 to 1000, got '0'/, query: '?k=0' },
    { name: 'k = 1001', body: goodPng, contentType: 'image/png', status: 400, message: /got '1001'/, query: '?k=1001' },
    { name: 'k = ten', body: goodPng, contentType: 'image/png', status: 400, message: /got 'ten'/, query: '?k=ten' },
  ];
}
