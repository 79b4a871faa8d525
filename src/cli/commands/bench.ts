// `mdprop bench --method NAME --arch NAME --image-size S --batch-size B --steps N [--threads T] [--json]`
// Times N training steps of a method on random data after a warm-up and prints
// {"ms_per_step", "images_per_s", "peak_rss_mb", ...settings}: as JSON with --json, else one
// "key: value" line each. bench/compare-step.ts sets it beside the PyTorch reference step.
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { BENCH_TASKS, benchTrainingSteps, type BenchTask } from '../../benchmark/index.js';
import { COMPUTE_TEXT, OptionError } from '../../evaluate/index.js';
import { isMethodName, METHOD_NAMES } from '../../methods/index.js';
import { ARCHS, isArch } from '../../nn/index.js';
import { computeModeFlags } from '../compute-mode.js';
import { UsageError } from '../errors.js';
import type { CliStreams } from '../io.js';
import { asUsage, integerFlag } from '../parse.js';

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
  readonly device?: string;
  readonly seed: string;
  readonly task: string;
  readonly precision?: string;
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
    .option('--threads <T>', COMPUTE_TEXT.threads)
    .option('--embed-dim <D>', 'embedding dimension', '128')
    .option('--channels <c>', 'input channels', '3')
    .option('--device <device>', COMPUTE_TEXT.device)
    .option('--seed <n>', 'seed of the weights and the noise', '0')
    .option('--task <t>', `what to time: ${BENCH_TASKS.join(', ')} (a training step; embedding a batch; attacking a batch, 10 untargeted PGD iterations at eps 0.1)`, 'step')
    .option('--precision <p>', COMPUTE_TEXT.precision)
    .option('--memory-format <f>', COMPUTE_TEXT.memoryFormat)
    .option('--json', 'print one JSON object')
    .option('--profile', "add each aten op's time per step (libtorch's profiler; key ops, the 30 largest self times)")
    .action(async (flags: BenchFlags) => {
      if (!isMethodName(flags.method)) throw new UsageError(`--method: unknown method '${flags.method}'; expected one of ${METHOD_NAMES.join(', ')}`);
      if (!isArch(flags.arch)) throw new UsageError(`--arch: unknown architecture '${flags.arch}'; expected one of ${ARCHS.join(', ')}`);
      const channels = integerFlag('--channels', flags.channels, 1);
      if (channels !== 1 && channels !== 3) throw new UsageError(`--channels: expected 1 or 3, got '${flags.channels}'`);
      const batchSize = integerFlag('--batch-size', flags.batchSize, 2);
      if (batchSize % 2 !== 0) throw new UsageError(`--batch-size: expected an even number (2 images per class), got ${batchSize}`);
      if (!(BENCH_TASKS as readonly string[]).includes(flags.task)) throw new UsageError(`--task: unknown task '${flags.task}'; expected one of ${BENCH_TASKS.join(', ')}`);
      const settings = {
        ...computeModeFlags(flags),
        task: flags.task as BenchTask,
        method: flags.method,
        arch: flags.arch,
        imageSize: integerFlag('--image-size', flags.imageSize, 8),
        batchSize,
        steps: integerFlag('--steps', flags.steps, 1),
        warmup: integerFlag('--warmup', flags.warmup, 0),
        threads: flags.threads === undefined ? availableParallelism() : integerFlag('--threads', flags.threads, 1),
        embedDim: integerFlag('--embed-dim', flags.embedDim, 1),
        channels: channels as 1 | 3,
        ...(flags.device === undefined ? {} : { device: flags.device }),
        seed: integerFlag('--seed', flags.seed, 0),
        profile: flags.profile === true,
      };
      const report = await asUsage(async () => benchTrainingSteps(settings), (err): err is OptionError => err instanceof OptionError);
      const text = flags.json
        ? `${JSON.stringify(report)}\n`
        : Object.entries(report)
            .map(([key, value]) => `${key}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}\n`)
            .join('');
      io.stdout.write(text);
    });
}
