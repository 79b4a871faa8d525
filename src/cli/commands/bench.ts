// `mdprop bench --method NAME --arch NAME --image-size S --batch-size B --steps N [--threads T] [--json]`
// Times N training steps of a method on random data after a warm-up and prints
// {"ms_per_step", "images_per_s", "peak_rss_mb", ...settings}: as JSON with --json, else one
// "key: value" line each. bench/compare-step.sh sets it beside the PyTorch reference step.
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { isMethodName, METHOD_NAMES } from '../../methods/index.js';
import { ARCHS, isArch, MEMORY_FORMATS, PRECISIONS } from '../../nn/index.js';
import { computeModeFlags } from '../compute-mode.js';
import { resolveDevice } from '../../torch/index.js';
import { BENCH_TASKS, benchTrainingSteps, type BenchTask } from '../../train/bench.js';
import { UsageError } from '../errors.js';
import type { CliStreams } from '../io.js';

interface BenchFlags {
  readonly method: string;
  readonly arch: string;
  readonly imageSize: string;
  readonly batchSize: string;
  readonly steps: string;
  readonly warmup: string;
  readonly threads?: string;
  readonly embedDim: string;
  readonly channels: string;
  readonly device: string;
  readonly seed: string;
  readonly task: string;
  readonly precision: string;
  readonly memoryFormat?: string;
  readonly json?: boolean;
  readonly profile?: boolean;
}

export function registerBench(program: Command, io: CliStreams): void {
  program
    .command('bench')
    .description('time training steps of a method on random data (after a warm-up)')
    .option('--method <name>', `method: ${METHOD_NAMES.join(', ')}`, 'mdprop')
    .option('--arch <name>', `architecture: ${ARCHS.join(', ')}`, 'resnet18')
    .option('--image-size <S>', 'side of the square input images', '64')
    .option('--batch-size <B>', 'clean images per step (2 per class)', '32')
    .option('--steps <N>', 'timed steps', '10')
    .option('--warmup <n>', 'untimed steps first', '2')
    .option('--threads <T>', 'CPU threads of libtorch (default: the number of cores)')
    .option('--embed-dim <D>', 'embedding dimension', '128')
    .option('--channels <c>', 'input channels', '3')
    .option('--device <device>', "'cpu' or 'cuda[:N]'", 'cpu')
    .option('--seed <n>', 'seed of the weights and the noise', '0')
    .option('--task <t>', `what to time: ${BENCH_TASKS.join(', ')} (a training step; embedding a batch; attacking a batch, 10 untargeted PGD iterations at eps 0.1)`, 'step')
    .option('--precision <p>', `compute precision of convolutions and matrix products: ${PRECISIONS.join(', ')} (fp16: CUDA only)`, 'fp32')
    .option('--memory-format <f>', `memory format of the convolutions: ${MEMORY_FORMATS.join(', ')} (default: channels-last for bf16 on a CPU, else contiguous)`)
    .option('--json', 'print one JSON object')
    .option('--profile', "add each aten op's time per step (libtorch's profiler; key ops, the 30 largest self times)")
    .action((flags: BenchFlags) => {
      if (!isMethodName(flags.method)) throw new UsageError(`--method: unknown method '${flags.method}'; expected one of ${METHOD_NAMES.join(', ')}`);
      if (!isArch(flags.arch)) throw new UsageError(`--arch: unknown architecture '${flags.arch}'; expected one of ${ARCHS.join(', ')}`);
      const channels = integer('--channels', flags.channels, 1);
      if (channels !== 1 && channels !== 3) throw new UsageError(`--channels: expected 1 or 3, got '${flags.channels}'`);
      const batchSize = integer('--batch-size', flags.batchSize, 2);
      if (batchSize % 2 !== 0) throw new UsageError(`--batch-size: expected an even number (2 images per class), got ${batchSize}`);
      let device: string;
      try {
        device = resolveDevice(flags.device);
      } catch (err) {
        throw new UsageError(`--device: ${(err as Error).message}`);
      }
      const { precision, memoryFormat } = computeModeFlags(flags, device);
      if (!(BENCH_TASKS as readonly string[]).includes(flags.task)) throw new UsageError(`--task: unknown task '${flags.task}'; expected one of ${BENCH_TASKS.join(', ')}`);
      const report = benchTrainingSteps({
        precision,
        memoryFormat,
        task: flags.task as BenchTask,
        method: flags.method,
        arch: flags.arch,
        imageSize: integer('--image-size', flags.imageSize, 8),
        batchSize,
        steps: integer('--steps', flags.steps, 1),
        warmup: integer('--warmup', flags.warmup, 0),
        threads: flags.threads === undefined ? availableParallelism() : integer('--threads', flags.threads, 1),
        embedDim: integer('--embed-dim', flags.embedDim, 1),
        channels,
        device,
        seed: integer('--seed', flags.seed, 0),
        profile: flags.profile === true,
      });
      const text = flags.json
        ? `${JSON.stringify(report)}\n`
        : Object.entries(report)
            .map(([key, value]) => `${key}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}\n`)
            .join('');
      io.stdout.write(text);
    });
}

function integer(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`${flag}: expected an integer >= ${min}, got '${value}'`);
  return n;
}
