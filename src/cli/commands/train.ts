// `mdprop train --dataset NAME [--method baseline|advprop-d|mdprop] [--config FILE] [flags...]`
// `mdprop train --resume DIR [--epochs N ...]`
// Settings resolve as dataset defaults <- --config JSON file <- flags, and are all checked before
// any work starts (exit 2 naming the flag or field). The run directory receives config.json,
// metrics.jsonl, model.safetensors (best Recall@1), checkpoint/ and summary.json; stdout gets the
// summary JSON, stderr the log and progress. Ctrl-C stops after the current step with a
// checkpoint (exit 130); a NaN or infinite loss stops the run, keeping the last checkpoint (exit 1).
import type { Command } from 'commander';
import { DistributedError, SINGLE_PROCESS, workerPlace, type Parallelism } from '../../parallel/index.js';
import {
  checkShards,
  methodOf,
  resumeRun,
  startRun,
  ConfigError,
  FIELD_TEXT,
  FLAG_FIELDS,
  flagOf,
  flagTerm,
  resolveConfig,
  resolveResumeConfig,
  RESUMABLE_CHANGES,
  type Trainer,
  TrainingDiverged,
  TrainingInterrupted,
  type FlagValues,
  type TrainConfig,
} from '../../train/index.js';
import { UsageError } from '../errors.js';
import { catchInterrupts } from '../interrupt.js';
import { printable, processStreams, type CliStreams } from '../io.js';
import { progressBar } from '../progress.js';
import { joinFromEnvironment, launchFlags, LAUNCH_HELP, launchLocalWorkers, type LaunchFlags } from './train-launch.js';

type TrainFlags = FlagValues & LaunchFlags & { config?: string; resume?: string };

export function registerTrain(program: Command, io: CliStreams = processStreams): void {
  const command = program
    .command('train')
    .description('train an embedding model with a method (baseline, advprop-d, mdprop, or a defense: est, act, hm) and evaluate it')
    .option('--config <file>', 'JSON file of settings: the fields below in camelCase (batchSize) or as flag names (batch-size); flags win')
    .option('--resume <dir>', `continue the run in <dir> from its checkpoint; only ${RESUMABLE_CHANGES.map(flagOf).join(', ')} may change`);
  for (const field of FLAG_FIELDS) {
    command.option(flagTerm(field), FIELD_TEXT[field].help);
  }
  for (const [term, help] of LAUNCH_HELP) command.option(term, help);
  command.addHelpText(
    'after',
    `
Run directory: config.json, metrics.jsonl (a line per epoch and per evaluation), model.safetensors
(the final epoch's weights, or with --model-selection best-test those of the best test Recall@1;
clean branch only, torchvision names), checkpoint/, summary.json.
Exit codes: 0 done, 1 error or NaN/infinite loss (the last checkpoint is kept), 2 bad flag or
setting, 130 interrupted by Ctrl-C (resume with --resume DIR).`,
  );
  command.action(async (flags: TrainFlags) => {
    await runTrain(flags, io);
  });
}

async function runTrain(flags: TrainFlags, io: CliStreams): Promise<void> {
  const values: FlagValues = {};
  for (const field of FLAG_FIELDS) if (flags[field] !== undefined) values[field] = flags[field];
  const config = usage(() => {
    if (flags.resume === undefined) return resolveConfig({ flags: values, configFile: flags.config });
    if (flags.config !== undefined) throw new UsageError('--config cannot be combined with --resume (the run keeps its own config.json)');
    return resolveResumeConfig(flags.resume, values);
  });
  const launch = launchFlags(flags);
  const place = usage(() => workerPlace());
  if (place === null && launch.nproc * launch.nnodes > 1) {
    usage(() => checkShards({ ...config, worldSize: launch.nproc * launch.nnodes }, methodOf(config)));
    // This process only starts the workers of this machine and waits for them.
    process.exitCode = await launchLocalWorkers(launch, flags, config.out, io);
    return;
  }
  let parallel: Parallelism = SINGLE_PROCESS;
  if (place !== null) {
    try {
      parallel = joinFromEnvironment(place, config.device, launch);
    } catch (err) {
      if (err instanceof DistributedError) throw new Error(`worker rank ${place.rank} of ${place.worldSize} could not join the run: ${err.message}`);
      throw err;
    }
  }
  try {
    await trainHere(config, flags.resume !== undefined, parallel, io);
  } catch (err) {
    if (!(err instanceof DistributedError)) throw err;
    throw new Error(
      `worker rank ${parallel.rank} of ${parallel.worldSize} stopped: ${err.message}. Another worker probably failed or was killed; ` +
        `the run continues from its last checkpoint with: mdprop train --resume ${config.out} (with any --nproc)`,
    );
  } finally {
    parallel.close();
  }
}

/** Trains in this process: alone, or as one rank of a data-parallel run (rank 0 logs, prints and writes). */
async function trainHere(config: TrainConfig, resume: boolean, parallel: Parallelism, io: CliStreams): Promise<void> {
  const quiet: CliStreams = { stdout: { write: () => {} }, stderr: io.stderr };
  const out = parallel.writes ? io : quiet;
  // Ctrl-C is ours from here on: before the run exists it is remembered, and the run stops (with
  // a checkpoint) as soon as it has started; a second one quits at once. A run of one process
  // treats SIGTERM alike; a data-parallel worker leaves SIGTERM to its launcher, which uses it to
  // end the workers that outlive a failed one.
  let trainer: Trainer | undefined;
  const interrupts = catchInterrupts(io, parallel.worldSize > 1 ? ['SIGINT'] : ['SIGINT', 'SIGTERM'], () =>
    parallel.writes ? `stopping ${trainer ? 'after the current step' : 'once the run has started'} to write a checkpoint` : null,
  );
  interrupts.signal.addEventListener('abort', () => trainer?.requestStop());
  try {
    trainer = await startTrainer(config, resume, parallel, out);
    if (interrupts.signal.aborted) trainer.requestStop();
    const summary = await trainer.train();
    out.stdout.write(`${JSON.stringify(summary)}\n`);
    // The report layer (charts) loads only once there is something to draw.
    if (parallel.writes) await (await import('../../report/index.js')).writeRunReport(config.out);
  } catch (err) {
    if (err instanceof TrainingInterrupted) {
      if (parallel.writes) io.stderr.write(`mdprop: ${err.message}\nmdprop: resume with: mdprop train --resume ${err.runDir}\n`);
      process.exitCode = interrupts.exitCode();
    } else if (err instanceof TrainingDiverged) {
      if (parallel.writes) io.stderr.write(`mdprop: ${err.render(flagOf)}\n`);
      process.exitCode = 1;
    } else {
      throw err;
    }
  } finally {
    interrupts.dispose();
    trainer?.dispose();
  }
}

async function startTrainer(config: TrainConfig, resume: boolean, parallel: Parallelism, io: CliStreams): Promise<Trainer> {
  const hooks = parallel.writes
    ? {
        log: (line: string) => io.stderr.write(`${printable(line)}\n`),
        progress: progressBar,
      }
    : {};
  try {
    return resume ? await resumeRun(config, hooks, parallel) : await startRun(config, hooks, parallel);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.render(flagOf));
    throw err;
  }
}

/** Settings errors are usage errors (exit 2). */
function usage<T>(resolve: () => T): T {
  try {
    return resolve();
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.render(flagOf));
    throw err;
  }
}
