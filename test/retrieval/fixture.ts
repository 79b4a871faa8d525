// Small real galleries for the retrieval and service tests: noise PNGs in label folders, and a
// freshly initialised resnet-small written as an mdprop model file (32x32 RGB input).
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeModelFile } from '../../src/formats/index.js';
import { createModel } from '../../src/nn/index.js';
import * as T from '../../src/torch/index.js';
import { writeNoisePng } from '../cli/embed-helpers.js';

export const SIDE = 32;
export const DIM = 16;

export function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `mdprop-${name}-`));
}

/** A model file of a seeded, untrained resnet-small (16-d embeddings, 32x32 RGB). */
export function writeTestModel(file: string, seed = 3): string {
  T.manualSeed(seed);
  const model = createModel({ arch: 'resnet-small', embedDim: DIM, inChannels: 3 });
  model.eval();
  writeModelFile(file, model, { arch: 'resnet-small', embedDim: DIM, inChannels: 3, imageSize: SIDE, testResize: SIDE, method: 'baseline', dataset: 'folder', epoch: 1 });
  model.dispose();
  return file;
}

/** `perLabel` noise images in each label folder under `dir`; seeds start at `seed`. */
export async function writeGallery(dir: string, labels: readonly string[], perLabel: number, seed = 1): Promise<string[]> {
  const paths: string[] = [];
  for (const [l, label] of labels.entries()) {
    mkdirSync(join(dir, label), { recursive: true });
    for (let i = 0; i < perLabel; i++) {
      const rel = `${label}/${String(i).padStart(3, '0')}.png`;
      await writeNoisePng(join(dir, rel), SIDE, SIDE, seed + l * 1000 + i);
      paths.push(rel);
    }
  }
  return paths;
}
