// `mdprop train --dataset NAME [--method baseline|advprop-d|mdprop] [--config FILE] [flags...]`
// `mdprop train --resume DIR [--epochs N ...]`
// Settings resolve as dataset defaults <- --config JSON file <- flags, and are all checked before
// any work starts (exit 2 naming the flag or field). The run directory receives config.json,
// metrics.jsonl, model.safetensors (best Recall@1), checkpoint/ and summary.json; stdout gets the
// summary JSON, stderr the log and progress. Ctrl-C stops after the current step with a
// checkpoint (exit 130); a NaN or infinite loss stops the run, keeping the last checkpoint (exit 1).
import type { Command } from 'commander';
import {
  CONFIG_FIELDS,
  ConfigError,
  FIELD_TEXT,
  flagOf,
  flagTerm,
  resolveConfig,
  resolveResumeConfig,
  RESUMABLE_CHANGES,
  Trainer,
  TrainingDiverged,
  TrainingInterrupted,
  type FlagValues,
  type TrainConfig,
} from '../../train/index.js';
import { UsageError } from '../errors.js';
import { printable, processStreams, type CliStreams } from '../io.js';
import { progressBar } from '../progress.js';

type TrainFlags = FlagValues & { config?: string; resume?: string };

export function registerTrain(program: Command, io: CliStreams = processStreams): void {
  const command = program
    .command('train')
    .description('train an embedding model with a method (baseline, advprop-d, mdprop, or a defense: est, act, hm) and evaluate it')
    .option('--config <file>', 'JSON file of settings: the fields below in camelCase (batchSize) or as flag names (batch-size); flags win')
    .option('--resume <dir>', `continue the run in <dir> from its checkpoint; only ${RESUMABLE_CHANGES.map(flagOf).join(', ')} may change`);
  for (const field of CONFIG_FIELDS) {
    command.option(flagTerm(field), FIELD_TEXT[field].help);
  }
  command.addHelpText(
    'after',
    `
Run directory: config.json, metrics.jsonl (a line per epoch and per evaluation), model.safetensors
(the best weights by Recall@1, clean branch only, torchvision names), checkpoint/, summary.json.
Exit codes: 0 done, 1 error or NaN/infinite loss (the last checkpoint is kept), 2 bad flag or
setting, 130 interrupted by Ctrl-C (resume with --resume DIR).`,
  );
  command.action(async (flags: TrainFlags) => {
    await runTrain(flags, io);
  });
}

async function runTrain(flags: TrainFlags, io: CliStreams): Promise<void> {
  const values: FlagValues = {};
  for (const field of CONFIG_FIELDS) if (flags[field] !== undefined) values[field] = flags[field];
  const config = usage(() => {
    if (flags.resume === undefined) return resolveConfig({ flags: values, configFile: flags.config });
    if (flags.config !== undefined) throw new UsageError('--config cannot be combined with --resume (the run keeps its own config.json)');
    return resolveResumeConfig(flags.resume, values);
  });
  // Ctrl-C is ours from here on: before the run exists it is remembered, and the run stops (with
  // a checkpoint) as soon as it has started; a second one quits at once.
  let trainer: Trainer | undefined;
  let stopAsked = false;
  let interrupts = 0;
  const onSigint = () => {
    interrupts += 1;
    if (interrupts > 1) {
      io.stderr.write('mdprop: interrupted again; exiting without a new checkpoint (the previous one is kept)\n');
      process.exit(130);
    }
    io.stderr.write(`\nmdprop: stopping ${trainer ? 'after the current step' : 'once the run has started'} to write a checkpoint (Ctrl-C again to quit at once)\n`);
    stopAsked = true;
    trainer?.requestStop();
  };
  process.on('SIGINT', onSigint);
  try {
    trainer = await startTrainer(config, flags.resume !== undefined, io);
    if (stopAsked) trainer.requestStop();
    const summary = await trainer.train();
    io.stdout.write(`${JSON.stringify(summary)}\n`);
    // The report layer (charts) loads only once there is something to draw.
    await (await import('../../report/index.js')).writeRunReport(config.out);
  } catch (err) {
    if (err instanceof TrainingInterrupted) {
      io.stderr.write(`mdprop: ${err.message}\nmdprop: resume with: mdprop train --resume ${err.runDir}\n`);
      process.exitCode = 130;
    } else if (err instanceof TrainingDiverged) {
      io.stderr.write(`mdprop: ${err.render(flagOf)}\n`);
      process.exitCode = 1;
    } else {
      throw err;
    }
  } finally {
    process.off('SIGINT', onSigint);
    trainer?.dispose();
  }
}

async function startTrainer(config: TrainConfig, resume: boolean, io: CliStreams): Promise<Trainer> {
  const hooks = {
    log: (line: string) => io.stderr.write(`${printable(line)}\n`),
    progress: progressBar,
  };
  try {
    return resume ? await Trainer.resume(config, hooks) : await Trainer.start(config, hooks);
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
