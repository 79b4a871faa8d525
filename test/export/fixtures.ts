// Shared by the export tests: models with non-trivial batch-norm statistics, test images, and
// running an exported file in onnxruntime-node (the runtime the files are checked against).
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeImageFile } from '../../src/data/index.js';
import { BatchNorm2d, setBnRouting, type EmbeddingModel } from '../../src/nn/index.js';
import { noGrad, rand, randn, tidy } from '../../src/torch/index.js';
import { writeNoisePng } from '../cli/embed-helpers.js';

/**
 * Gives every batch norm (each branch of a multi-branch one) statistics far from a fresh layer's:
 * a few training-mode forwards per branch on inputs scaled per branch, then a random scale and
 * shift. Folding them into the convolutions then changes every weight.
 */
export function randomiseBatchNorms(model: EmbeddingModel, shape: readonly number[], branches = 1): void {
  noGrad(() =>
    tidy(() => {
      model.train();
      for (let k = 0; k < branches; k++) {
        if (branches > 1) setBnRouting(model, { kind: 'branch', branch: k });
        for (let i = 0; i < 3; i++) model.forward(rand([...shape]).mul(1 + k).sub(0.5 * k));
      }
      for (const [, m] of model.namedModules()) {
        if (!(m instanceof BatchNorm2d) || !m.weight || !m.bias) continue;
        m.weight.copy_(rand([m.numFeatures]).add(0.5));
        m.bias.copy_(randn([m.numFeatures]).mul(0.2));
      }
      if (branches > 1) setBnRouting(model, { kind: 'branch', branch: 0 });
      model.eval();
    }),
  );
}

/** The largest |running_var - 1| and |running_mean| over the model's batch norms. */
export function batchNormSpread(model: EmbeddingModel): number {
  let spread = 0;
  for (const [, m] of model.namedModules()) {
    if (!(m instanceof BatchNorm2d) || !m.runningMean || !m.runningVar) continue;
    for (const v of m.runningVar.toFloat32Array()) spread = Math.max(spread, Math.abs(v - 1));
    for (const v of m.runningMean.toFloat32Array()) spread = Math.max(spread, Math.abs(v));
  }
  return spread;
}

/** `count` noise PNGs of width x height in `dir` (names in code-point order: 0.png, 1.png, ...). */
export async function writeImages(dir: string, count: number, width: number, height: number, seed: number): Promise<string[]> {
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const path = join(dir, `${i}.png`);
    await writeNoisePng(path, width, height, seed + i);
    paths.push(path);
  }
  return paths;
}

/** The images as mdprop's evaluation transform leaves them, before normalisation: pixels in [0, 1], [n, C, S, S]. */
export async function pixelBatch(paths: readonly string[], o: { resize: number; crop: number; channels: 1 | 3 }): Promise<Float32Array> {
  const zeros = new Array<number>(o.channels).fill(0);
  const ones = new Array<number>(o.channels).fill(1);
  const decoded = await Promise.all(paths.map((p) => decodeImageFile(p, { ...o, mean: zeros, std: ones })));
  const per = o.channels * o.crop * o.crop;
  const out = new Float32Array(paths.length * per);
  decoded.forEach((d, i) => out.set(d.data, i * per));
  return out;
}

/** Embeddings [n, D] of `pixels` [n, C, S, S] by onnxruntime-node (one thread), with the output's dims. */
export async function runOnnx(file: string, pixels: Float32Array, shape: readonly number[]): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const out = await session.run({ images: new ort.Tensor('float32', pixels, [...shape]) });
    const e = out.embeddings!;
    return { data: e.data as Float32Array, dims: e.dims };
  } finally {
    await session.release();
  }
}

/** Each image alone (batch 1), concatenated in order. */
export async function runOnnxOneByOne(file: string, pixels: Float32Array, shape: readonly number[]): Promise<Float32Array> {
  const [n, ...rest] = shape as [number, ...number[]];
  const per = rest.reduce((a, b) => a * b, 1);
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const rows: Float32Array[] = [];
    for (let i = 0; i < n; i++) {
      const out = await session.run({ images: new ort.Tensor('float32', pixels.slice(i * per, (i + 1) * per), [1, ...rest]) });
      if (out.embeddings!.dims[0] !== 1) throw new Error(`batch 1 gave dims [${out.embeddings!.dims.join(', ')}]`);
      rows.push(out.embeddings!.data as Float32Array);
    }
    const d = rows[0]!.length;
    const all = new Float32Array(n * d);
    rows.forEach((r, i) => all.set(r, i * d));
    return all;
  } finally {
    await session.release();
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} and ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
