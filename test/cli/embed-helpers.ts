// Shared by the embed tests: the repository root and small test images.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** RGB bytes of deterministic noise (seeded LCG), row-major, 3 per pixel: what writeNoisePng stores. */
export function noisePixels(width: number, height: number, seed: number): Buffer {
  const data = Buffer.alloc(width * height * 3);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  return data;
}

/** A PNG (lossless) of noisePixels, so every image differs. */
export async function writeNoisePng(path: string, width: number, height: number, seed: number): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  await sharp(noisePixels(width, height, seed), { raw: { width, height, channels: 3 } }).png().toFile(path);
}
