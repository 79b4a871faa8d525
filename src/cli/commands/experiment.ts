// `mdprop experiment [--preset quick|study] [--methods a,b,METHOD.json] [--seeds 0,1,2] [--profile rob28|rob224]
//  [--attacks ...] [--eps ...] [--iters N] [--limit N] [--out DIR] [--json] [any train flag]`
// Maps flags onto runExperiment()'s options (src/experiment), shows one progress bar for
// the whole experiment, and prints the table (or experiment.json with --json).
import type { Command } from 'commander';
import { ATTACK_NAMES, isProfileName, PROFILE_NAMES, type AttackName } from '../../adversarial/index.js';
import { EXPERIMENT_FILES } from '../../formats/index.js';
import { isMethodName, METHOD_NAMES, type MethodName, type MethodSpec } from '../../methods/index.js';
import { formatExperiment, PRESET_NAMES, PRESETS, runExperiment, type ExperimentOptions, type PresetName } from '../../experiment/index.js';
import { ConfigError, TrainingInterrupted, FLAG_FIELDS, FIELD_TEXT, flagOf, flagTerm, parseFlags, readConfigFile, type ConfigField, type FlagValues } from '../../train/index.js';
import { UsageError } from '../errors.js';
import { catchInterrupts, CommandInterrupted } from '../interrupt.js';
import { processStreams, type CliStreams } from '../io.js';
import { integerFlag, integerListFlag, listFlag } from '../parse.js';
import { progressTo } from '../progress.js';

/** Train flags every run shares; method, seed, out and preset are the experiment's own, and --eps is the evaluation's (--train-eps trains). */
const SHARED_FIELDS = FLAG_FIELDS.filter((f) => f !== 'method' && f !== 'seed' && f !== 'out' && f !== 'eps' && f !== 'preset');

type ExperimentFlags = FlagValues & Partial<Record<'preset' | 'methods' | 'seeds' | 'profile' | 'attacks' | 'iters' | 'limit' | 'trainEps' | 'config', string>> & { json?: boolean; views?: boolean; detect?: boolean };

/** A training setting's flag here: the training budget is --train-eps, since --eps is the evaluation's. */
const experimentFlag = (field: string): string => (field === 'eps' ? '--train-eps' : flagOf(field));

/** A --methods entry: a preset name, or a JSON file of a method written as data (read as --method reads it). */
function methodOfFlag(entry: string): MethodName | MethodSpec {
  if (isMethodName(entry)) return entry;
  if (!entry.toLowerCase().endsWith('.json')) throw new UsageError(`--methods: unknown method '${entry}'; expected some of ${METHOD_NAMES.join(', ')}, or a method's JSON file`);
  try {
    return parseFlags({ method: entry }).method as MethodSpec;
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`--methods: ${err.render(flagOf)}`);
    throw err;
  }
}

export function registerExperiment(program: Command, io: CliStreams = processStreams): void {
  const command = program
    .command('experiment')
    .description('train and evaluate methods over seeds alike; statistics, intervals and a report')
    .option('--preset <name>', `${PRESET_NAMES.map((p) => `${p}: ${PRESETS[p].description}`).join('; ')}`)
    .option('--methods <list>', `comma-separated, the first is the baseline: ${METHOD_NAMES.join(', ')}, or a JSON file of a method written as data (default: the preset's)`)
    .option('--seeds <list>', "comma-separated seeds (default: the preset's, else 0,1,2)")
    .option('--profile <name>', `evaluate every run with RobRank's protocol (${PROFILE_NAMES.join(', ')}: its nine attacks and budget; --attacks may narrow them) and report each method's ERS over the seeds`)
    .option('--attacks <list>', `attacks of the evaluation: ${ATTACK_NAMES.join(', ')}`)
    .option('--eps <list>', 'budgets of the evaluation (normalized units, or pixel fractions such as 4/255)')
    .option('--iters <n>', 'PGD iterations of the evaluation')
    .option('--limit <N|all>', 'attacked queries per run (a seeded subset; the gallery stays whole)')
    .option('--out <dir>', 'experiment directory (default runs/<preset or experiment>)')
    .option('--config <file>', "JSON file of training settings every run shares, as mdprop train --config reads it (e.g. configs/robrank-fashion.json); flags win; method, seed and out are the experiment's own")
    .option('--no-views', 'skip the embedding maps and retrieval galleries')
    .option('--detect', "also score each run whose model has auxiliary BN branches with the detector (see mdprop eval --detect) and report its AUROC's mean and 95% interval over the seeds")
    .option('--json', 'print experiment.json instead of the table');
  for (const field of SHARED_FIELDS) command.option(flagTerm(field), FIELD_TEXT[field].help);
  command.option('--train-eps <e>', FIELD_TEXT.eps.help);
  command.action(async (flags: ExperimentFlags) => {
    const preset = flags.preset;
    if (preset !== undefined && !(PRESET_NAMES as string[]).includes(preset)) throw new UsageError(`--preset: unknown preset '${preset}'; expected one of ${PRESET_NAMES.join(', ')}`);
    const methods = flags.methods === undefined ? undefined : listFlag('--methods', flags.methods).map(methodOfFlag);
    const profile = flags.profile;
    if (profile !== undefined && !isProfileName(profile)) throw new UsageError(`--profile: unknown profile '${profile}'; expected one of ${PROFILE_NAMES.join(', ')}`);
    if (profile !== undefined && (flags.eps !== undefined || flags.iters !== undefined)) {
      throw new UsageError(`--profile ${profile} fixes the evaluation's budget and iterations (RobRank's protocol): leave out ${flags.eps !== undefined ? '--eps' : '--iters'}`);
    }
    const attacks = flags.attacks === undefined ? undefined : listFlag('--attacks', flags.attacks);
    const badAttack = attacks?.find((a) => !(ATTACK_NAMES as readonly string[]).includes(a));
    if (badAttack !== undefined) throw new UsageError(`--attacks: unknown attack '${badAttack}'; expected some of ${ATTACK_NAMES.join(', ')}`);
    const values: FlagValues = {};
    for (const field of SHARED_FIELDS) if (flags[field] !== undefined) values[field as ConfigField] = flags[field];
    if (flags.trainEps !== undefined) values.eps = flags.trainEps;
    let train;
    try {
      const file = flags.config === undefined ? {} : readConfigFile(flags.config);
      const own = (['method', 'seed', 'out', 'preset'] as const).find((f) => file[f] !== undefined);
      if (own !== undefined) throw new UsageError(`--config ${flags.config}: "${own}" is set by the experiment (${own === 'method' ? '--methods' : own === 'seed' ? '--seeds' : `--${own}`}), not by the file`);
      train = { ...file, ...parseFlags(values) };
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(err.render(experimentFlag));
      throw err;
    }
    const bar = progressTo('experiment', 'step');
    const out = flags.out ?? `runs/${preset ?? 'experiment'}`;
    // Ctrl-C or SIGTERM: the run in training stops with a checkpoint, an evaluation is dropped;
    // the same command goes on from there.
    let current = '';
    const interrupts = catchInterrupts(io, ['SIGINT', 'SIGTERM'], () => {
      bar.stop();
      return current.includes(': evaluating') ? `stopping: the evaluation in progress is dropped (${current})` : `stopping after the current step, with a checkpoint (${current || 'starting'})`;
    });
    try {
      const file = await runExperiment({
        ...(preset === undefined ? {} : { preset: preset as PresetName }),
        ...(methods === undefined ? {} : { methods }),
        ...(profile === undefined ? {} : { profile }),
        ...(flags.detect ? { detect: true } : {}),
        ...(flags.seeds === undefined ? {} : { seeds: integerListFlag('--seeds', flags.seeds, 0) }),
        ...(attacks === undefined ? {} : { attacks: attacks as AttackName[] }),
        ...(flags.eps === undefined ? {} : { eps: listFlag('--eps', flags.eps) }),
        ...(flags.iters === undefined ? {} : { iters: integerFlag('--iters', flags.iters) }),
        ...(flags.limit === undefined ? {} : { limit: flags.limit.trim().toLowerCase() === 'all' ? null : integerFlag('--limit', flags.limit) }),
        train: train as ExperimentOptions['train'],
        out,
        views: flags.views !== false,
        onProgress: (p) => {
          current = p.current;
          bar.update(p.done, p.total, p.current, p.doneHere);
        },
        signal: interrupts.signal,
      });
      bar.stop();
      io.stdout.write(flags.json ? `${JSON.stringify(file, null, 2)}\n` : formatExperiment(file));
      io.stderr.write(`experiment: ${out}/${EXPERIMENT_FILES.experiment}\n`);
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(err.render(experimentFlag));
      const reason: unknown = interrupts.signal.reason;
      if (!(reason instanceof CommandInterrupted) || !(err === reason || err instanceof TrainingInterrupted)) throw err;
      if (err instanceof TrainingInterrupted) io.stderr.write(`mdprop: ${err.message}\n`);
      io.stderr.write(`mdprop: experiment stopped; finished runs are kept. Go on with the same command (its --out is ${out})\n`);
      process.exitCode = reason.exitCode;
    } finally {
      bar.stop();
      interrupts.dispose();
    }
  });
}
