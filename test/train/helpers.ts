// Tiny training runs for the trainer tests: MNIST (quick to open), resnet-small, 32 training
// images in batches of 8, 40 test images, a 16-dim embedding.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig, type FlagValues, type TrainConfig } from '../../src/train/index.js';

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `mdprop-${prefix}-`));
}

export const TINY_FLAGS: FlagValues = {
  dataset: 'mnist',
  method: 'baseline',
  embedDim: '16',
  epochs: '2',
  batchSize: '8',
  limitTrain: '32',
  limitTest: '40',
  evalBatchSize: '20',
  threads: '1',
  seed: '3',
};

export function tinyConfig(out: string, flags: FlagValues = {}): TrainConfig {
  return resolveConfig({ flags: { ...TINY_FLAGS, out, ...flags } });
}

/** metrics.jsonl lines without their timings, for comparing runs. */
export function timeless(lines: readonly object[]): object[] {
  return lines.map((line) => {
    const { seconds: _seconds, ...rest } = line as { seconds?: number };
    return rest;
  });
}
