// `mdprop embed --arch A --embed-dim D --weights W.safetensors --images DIR --out E.safetensors
//  [--resize 256] [--crop 224] [--batch-size 32] [--device cpu]`
// Embeds every jpg/jpeg/png/webp below DIR, in code-point order of the path relative to DIR, with
// the evaluation transform (RGB, shorter side to --resize, centre crop --crop, ImageNet mean/std)
// and the model in eval mode. Writes `embeddings` (float32 [N, D], L2-normalised) and metadata
// `paths` (JSON array of the relative paths, row order). Bad flags exit 2 before any work.
import { promises as fs } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import type { Command } from 'commander';
import { decodeImageFile } from '../../data/index.js';
import { ARCHS, createModel, isArch, StateDictError, type EmbeddingModel } from '../../nn/index.js';
import { dispose, noGrad, readSafetensors, resolveDevice, tensor, tidy, writeSafetensors, type Tensor } from '../../torch/index.js';
import { UsageError } from '../errors.js';
import { progressBar } from '../progress.js';

interface EmbedFlags {
  readonly arch: string;
  readonly embedDim: string;
  readonly weights: string;
  readonly images: string;
  readonly out: string;
  readonly resize: string;
  readonly crop: string;
  readonly batchSize: string;
  readonly device: string;
}

interface EmbedPlan {
  readonly model: EmbeddingModel;
  readonly files: readonly string[];
  readonly imagesDir: string;
  readonly out: string;
  readonly resize: number;
  readonly crop: number;
  readonly batchSize: number;
  readonly device: string;
  /** Channels the model takes: 3 (images decoded to RGB) or 1 (decoded to grey). */
  readonly channels: 1 | 3;
}

const EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);

export function registerEmbed(program: Command): void {
  program
    .command('embed')
    .description('embed a folder of images with a model (eval mode, L2-normalised embeddings)')
    .requiredOption('--arch <name>', `architecture: ${ARCHS.join(', ')}`)
    .requiredOption('--embed-dim <D>', 'embedding dimension (rows of fc.weight)')
    .requiredOption('--weights <file>', 'safetensors state dict with torchvision names (head: fc.weight, fc.bias)')
    .requiredOption('--images <dir>', 'folder searched recursively for jpg, jpeg, png, webp')
    .requiredOption('--out <file>', 'output safetensors: embeddings [N, D] and metadata paths')
    .option('--resize <n>', 'shorter side after resizing', '256')
    .option('--crop <n>', 'side of the centre crop', '224')
    .option('--batch-size <n>', 'images per forward pass', '32')
    .option('--device <device>', "'cpu' or 'cuda[:N]'", 'cpu')
    .action(async (flags: EmbedFlags) => {
      const plan = await planEmbed(flags);
      try {
        await runEmbed(plan);
      } finally {
        plan.model.dispose();
      }
    });
}

/** Checks every flag and loads the model; throws UsageError naming the flag or file at fault. */
async function planEmbed(flags: EmbedFlags): Promise<EmbedPlan> {
  if (!isArch(flags.arch)) throw new UsageError(`--arch: unknown architecture '${flags.arch}'; expected one of ${ARCHS.join(', ')}`);
  const embedDim = positiveInt('--embed-dim', flags.embedDim);
  const resize = positiveInt('--resize', flags.resize);
  const crop = positiveInt('--crop', flags.crop);
  const batchSize = positiveInt('--batch-size', flags.batchSize);
  if (crop > resize) throw new UsageError(`--crop (${crop}) must not exceed --resize (${resize})`);
  let device: string;
  try {
    device = resolveDevice(flags.device);
  } catch (err) {
    throw new UsageError(`--device: ${(err as Error).message}`);
  }
  if (!(await isFile(flags.weights))) throw new UsageError(`--weights: file not found: ${flags.weights}`);
  if (!(await isDirectory(flags.images))) throw new UsageError(`--images: folder not found: ${flags.images}`);
  const files = await findImages(flags.images);
  if (files.length === 0) throw new UsageError(`--images: no jpg, jpeg, png or webp files found in ${flags.images}`);

  // Grey models (trained on MNIST-like data) take one input channel: read it off the stem's weights.
  const inChannels = stemChannels(flags.weights);
  const model = createModel({ arch: flags.arch, embedDim, inChannels });
  try {
    loadWeights(model, flags.weights);
  } catch (err) {
    model.dispose();
    throw err;
  }
  model.eval().to(device);
  return { model, files, imagesDir: flags.images, out: flags.out, resize, crop, batchSize, device, channels: inChannels === 1 ? 1 : 3 };
}

/** Input channels of the stem convolution `conv1.weight` [out, in, k, k] (3 when absent or unreadable). */
function stemChannels(path: string): number {
  try {
    const { tensors } = readSafetensors(path, new Set(['conv1.weight']));
    const stem = tensors.get('conv1.weight');
    const channels = stem?.shape[1] ?? 3;
    dispose(tensors);
    return channels;
  } catch {
    return 3; // loadWeights reports the unreadable file with its reason
  }
}

function loadWeights(model: EmbeddingModel, path: string): void {
  let state: Map<string, Tensor>;
  try {
    state = readSafetensors(path).tensors;
  } catch (err) {
    throw new UsageError(`--weights ${path}: ${(err as Error).message}`);
  }
  try {
    model.loadStateDict(state);
  } catch (err) {
    if (err instanceof StateDictError) throw new UsageError(`--weights ${path}: ${err.message}`);
    throw err;
  } finally {
    dispose(state);
  }
}

async function runEmbed(plan: EmbedPlan): Promise<void> {
  const { model, files, crop, batchSize } = plan;
  const imageSize = plan.channels * crop * crop;
  const embeddings = new Float32Array(files.length * model.embedDim);
  const progress = progressBar('embed', files.length, 'img');
  const decodeBatch = (start: number): Promise<Float32Array> => {
    const decoding = decodeInto(files.slice(start, start + batchSize), plan, new Float32Array(Math.min(batchSize, files.length - start) * imageSize));
    decoding.catch(() => undefined); // awaited below; this only stops an early exit leaving it unhandled
    return decoding;
  };
  try {
    // Decoding runs on libuv's threads: the next batch decodes while this one runs the model.
    let pending = decodeBatch(0);
    for (let start = 0; start < files.length; start += batchSize) {
      const pixels = await pending;
      if (start + batchSize < files.length) pending = decodeBatch(start + batchSize);
      const count = pixels.length / imageSize;
      const rows = tidy(() =>
        noGrad(() => {
          const input = tensor(pixels, [count, plan.channels, crop, crop]).to(plan.device);
          return model.forward(input).to('cpu').toFloat32Array();
        }),
      );
      embeddings.set(rows, start * model.embedDim);
      progress.tick(count);
    }
  } finally {
    progress.stop();
  }
  await fs.mkdir(dirname(plan.out) || '.', { recursive: true });
  const out = tensor(embeddings, [files.length, model.embedDim]);
  try {
    writeSafetensors(plan.out, { embeddings: out }, { paths: JSON.stringify(files) });
  } finally {
    out.dispose();
  }
}

async function decodeInto(rels: readonly string[], plan: EmbedPlan, out: Float32Array): Promise<Float32Array> {
  const images = await Promise.all(rels.map((rel) => decodeImageFile(join(plan.imagesDir, rel), { resize: plan.resize, crop: plan.crop, channels: plan.channels })));
  images.forEach((image, i) => out.set(image.data, i * image.data.length));
  return out;
}

/** Relative paths ('/'-separated) of the images below `root`, sorted by code point. */
async function findImages(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const stat = entry.isSymbolicLink() ? await fs.stat(path).catch(() => null) : entry;
      if (stat?.isDirectory()) await walk(path);
      else if (stat?.isFile() && EXTENSIONS.has(extension(entry.name))) found.push(relative(root, path).split(sep).join('/'));
    }
  };
  await walk(root);
  return found.sort(byCodePoint);
}

function extension(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot).toLowerCase();
}

/** Code-point order (what Python's sorted() gives), not UTF-16 unit order. */
function byCodePoint(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag}: expected a positive integer, got '${value}'`);
  return n;
}

async function isFile(path: string): Promise<boolean> {
  return (await fs.stat(path).catch(() => null))?.isFile() ?? false;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await fs.stat(path).catch(() => null))?.isDirectory() ?? false;
}
