// `mdprop export (--run DIR | --weights FILE [--arch A] [--embed-dim D]) --out model.onnx [--branch K]
//  [--opset N] [--fold-bn] [--image-size N] [--test-resize N] [--json]`
// Writes the model as an ONNX file (exportOnnx, src/export): pixels in [0, 1] in, L2-normalised
// embeddings out, the model's settings in metadata_props. Bad flags exit 2 before any work.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { exportOnnx, ExportOptionError, OPSETS, opsetProblem, type ExportResult } from '../../export/index.js';
import { FormatError, loadModelFile, RUN_FILES, RunDirectory, type LoadedModel } from '../../formats/index.js';
import { ARCHS } from '../../nn/index.js';
import { UsageError } from '../errors.js';
import { processStreams, type CliStreams } from '../io.js';
import { integerFlag } from '../parse.js';

interface ExportFlags {
  readonly out: string;
  readonly run?: string;
  readonly weights?: string;
  readonly arch?: string;
  readonly embedDim?: string;
  readonly branch: string;
  readonly opset: string;
  readonly foldBn?: boolean;
  readonly imageSize?: string;
  readonly testResize?: string;
  readonly json?: boolean;
}

export function registerExport(program: Command, io: CliStreams = processStreams): void {
  program
    .command('export')
    .description('write a model as an ONNX file: pixels in [0, 1] in, L2-normalised embeddings out, its settings in metadata_props')
    .option('--run <dir>', `run directory of mdprop train (its ${RUN_FILES.model})`)
    .option('--weights <file>', 'model file instead of a run (safetensors or .pth, torchvision names)')
    .option('--arch <name>', `architecture, for weights that do not record it: ${ARCHS.join(', ')}`)
    .option('--embed-dim <D>', 'embedding dimension, for weights that do not record it')
    .requiredOption('--out <file>', 'the ONNX file to write')
    .option('--branch <K>', 'batch-norm branch whose running statistics the graph holds (0 = clean)', '0')
    .option('--opset <N>', `ONNX operator set, ${OPSETS.min} to ${OPSETS.max}`, String(OPSETS.default))
    .option('--fold-bn', "fold every batch norm into the layer before it (a convolution, or c2f2-bn's fully connected layer)")
    .option('--image-size <px>', "side of the square input (default: the model's, else 28 for c2f2, 32 for resnet-small, 224)")
    .option('--test-resize <px>', "shorter side to resize to before the centre crop, recorded for users of the file (default: the model's)")
    .option('--json', 'print what was written as JSON')
    .action((flags: ExportFlags) => {
      const int = (flag: string, text: string | undefined, min = 1) => (text === undefined ? undefined : integerFlag(flag, text, min));
      const branch = integerFlag('--branch', flags.branch, 0);
      const opset = integerFlag('--opset', flags.opset);
      const opsetIssue = opsetProblem(opset);
      if (opsetIssue) throw new UsageError(`--opset: ${opsetIssue}`);
      const options = { branch, opset, foldBn: flags.foldBn ?? false, imageSize: int('--image-size', flags.imageSize), testResize: int('--test-resize', flags.testResize) };
      const loaded = load(flags, branch);
      try {
        mkdirSync(dirname(flags.out) || '.', { recursive: true });
        const result = asUsageSync(() => exportOnnx(loaded, flags.out, options));
        io.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : describe(result));
      } finally {
        loaded.model.dispose();
      }
    });
}

function load(flags: ExportFlags, branch: number): LoadedModel {
  if ((flags.run === undefined) === (flags.weights === undefined)) throw new UsageError('give either --run DIR or --weights FILE');
  if (flags.run !== undefined && (flags.arch !== undefined || flags.embedDim !== undefined)) throw new UsageError('--arch and --embed-dim describe --weights from elsewhere; a run records both');
  if (flags.arch !== undefined && !(ARCHS as string[]).includes(flags.arch)) throw new UsageError(`--arch: unknown architecture '${flags.arch}'; expected one of ${ARCHS.join(', ')}`);
  const embedDim = flags.embedDim === undefined ? undefined : integerFlag('--embed-dim', flags.embedDim);
  let flag = '--weights';
  let path = flags.weights ?? '';
  try {
    if (flags.run !== undefined) {
      flag = '--run';
      path = RunDirectory.open(flags.run).file('model');
    }
    return loadModelFile(path, { arch: flags.arch, embedDim, branch });
  } catch (err) {
    if (!(err instanceof FormatError)) throw err;
    // A branch the file does not hold is the flag's fault; anything else, the file's.
    if (err.detail.startsWith('BN branch')) throw new UsageError(`--branch: ${err.message}`);
    throw new UsageError(`${flag} ${err.message}`);
  }
}

/** Runs the export, turning an error that names an option into a UsageError naming its flag. */
function asUsageSync(work: () => ExportResult): ExportResult {
  const flags: Record<string, string> = { branch: '--branch', opset: '--opset', imageSize: '--image-size', testResize: '--test-resize' };
  try {
    return work();
  } catch (err) {
    if (err instanceof ExportOptionError && flags[err.option]) throw new UsageError(`${flags[err.option]}: ${err.detail}`);
    throw err;
  }
}

function describe(r: ExportResult): string {
  const m = r.record;
  const bn = r.foldedBatchNorms > 0 ? `, ${r.foldedBatchNorms} batch norms folded` : '';
  return (
    `${r.file}: ${m.arch}, images [N, ${m.inChannels}, ${m.imageSize}, ${m.imageSize}] -> embeddings [N, ${m.embedDim}], ` +
    `branch ${m.branch}, opset ${r.opset}, ${r.nodes} operators${bn}, ${(r.bytes / 1e6).toFixed(1)} MB\n`
  );
}
