// `mdprop embed --weights W.safetensors --images DIR --out E.safetensors [--resize N] [--crop N] ...`
// Embeds every image below DIR (recursive, code-point order of relative paths) with the model the
// weights file describes (arch, embedding size, channels and image size from its metadata; --arch
// and --embed-dim only for weights from elsewhere). Writes `embeddings` [N, D] and metadata `paths`.
import { dirname } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Command } from 'commander';
import { DataError, ImageDecodeError } from '../../data/index.js';
import { COMPUTE_TEXT, embedFolder, OptionError } from '../../evaluate/index.js';
import { FormatError, loadModelFile, writeEmbeddingsFile, type LoadedModel } from '../../formats/index.js';
import { ARCHS } from '../../nn/index.js';
import { computeModeFlags } from '../compute-mode.js';
import { UsageError } from '../errors.js';
import { asUsage, integerFlag } from '../parse.js';
import { progressTo } from '../progress.js';

interface EmbedFlags {
  readonly weights: string;
  readonly images: string;
  readonly out: string;
  readonly arch?: string;
  readonly embedDim?: string;
  readonly resize?: string;
  readonly crop?: string;
  readonly batchSize: string;
  readonly device?: string;
  readonly precision?: string;
  readonly memoryFormat?: string;
}

export function registerEmbed(program: Command): void {
  program
    .command('embed')
    .description('embed a folder of images with a model (eval mode, L2-normalised embeddings)')
    .requiredOption('--weights <file>', 'model file (safetensors, torchvision names; mdprop train writes its settings into it)')
    .requiredOption('--images <dir>', 'folder searched recursively for image files (jpg, png, webp, ...)')
    .requiredOption('--out <file>', 'output safetensors: embeddings [N, D] and metadata paths')
    .option('--arch <name>', `architecture, for weights that do not record it: ${ARCHS.join(', ')}`)
    .option('--embed-dim <D>', 'embedding dimension, for weights that do not record it')
    .option('--resize <n>', 'shorter side after resizing (default: the model\'s test resize, else 256)')
    .option('--crop <n>', 'side of the centre crop (default: the model\'s image size, else 224)')
    .option('--batch-size <n>', 'images per forward pass', '32')
    .option('--device <device>', COMPUTE_TEXT.device)
    .option('--precision <p>', COMPUTE_TEXT.precision)
    .option('--memory-format <f>', COMPUTE_TEXT.memoryFormat)
    .action(async (flags: EmbedFlags) => {
      const int = (flag: string, text: string | undefined) => (text === undefined ? undefined : integerFlag(flag, text));
      const options = { resize: int('--resize', flags.resize), crop: int('--crop', flags.crop), batchSize: int('--batch-size', flags.batchSize), device: flags.device, ...computeModeFlags(flags) };
      const embedDim = int('--embed-dim', flags.embedDim);
      const loaded = load(flags.weights, flags.arch, embedDim);
      const bar = progressTo('embed', 'img');
      try {
        const result = await asUsage(
          () =>
            embedFolder(loaded, flags.images, {
              ...options,
              onProgress: (done, total) => bar.update(done, total),
            }).catch((err: unknown) => {
              if (err instanceof DataError && !(err instanceof ImageDecodeError)) throw new UsageError(`--images: ${err.message}`);
              throw err;
            }),
          (err): err is OptionError => err instanceof OptionError,
        );
        bar.stop();
        mkdirSync(dirname(flags.out) || '.', { recursive: true });
        writeEmbeddingsFile(flags.out, result);
      } finally {
        bar.stop();
        loaded.model.dispose();
      }
    });
}

function load(weights: string, arch: string | undefined, embedDim: number | undefined): LoadedModel {
  if (arch !== undefined && !(ARCHS as string[]).includes(arch)) throw new UsageError(`--arch: unknown architecture '${arch}'; expected one of ${ARCHS.join(', ')}`);
  try {
    return loadModelFile(weights, { arch, embedDim });
  } catch (err) {
    if (err instanceof FormatError) throw new UsageError(`--weights ${err.message}`);
    throw err;
  }
}
