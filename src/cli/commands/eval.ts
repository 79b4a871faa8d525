// `mdprop eval --run DIR [--weights FILE] [--profile rob28|rob224] [--attacks ...] [--eps LIST] [--iters N] [--limit N] [--json] ...`
// Its flags are evaluate()'s options (src/evaluate/options.ts, derived by ../schema-flags.ts); it prints the table, or with --json exactly
//   {"clean": {"recall@1", ..., "map@r", "map_c", "nmi"}, "attacks": [{"attack", "eps", "iters", "recall@1", "map@r", "success_rate"?}, ...],
//    "ers"?: [{"eps", "eps_text", "iters", "score", "components": {"CA+": {"raw", "rescaled"}, ...}, "missing"}]}
// Bad flags exit 2 before any work, naming the flag.
import type { Command } from 'commander';
import { contractOutput, evaluate, EVALUATE_OPTION_TEXT, evaluateOptionsSchema, formatEvaluation, OptionError, type EvaluateOptions, type EvalProgress } from '../../evaluate/index.js';
import { RUN_FILES } from '../../formats/index.js';
import { UsageError } from '../errors.js';
import { processStreams, type CliStreams } from '../io.js';
import { asUsage } from '../parse.js';
import { progressTo } from '../progress.js';
import { addSchemaFlags, flagFor, schemaFlagValues } from '../schema-flags.js';

interface EvalFlags extends Record<string, unknown> {
  run?: string;
  json?: boolean;
}

export function registerEval(program: Command, io: CliStreams = processStreams): void {
  const command = program
    .command('eval')
    .description('retrieval under test-time adversarial attacks (attacked queries against the clean gallery)')
    .option('--run <dir>', `run directory of mdprop train (${RUN_FILES.config}, ${RUN_FILES.model})`);
  // Every other flag is an option of evaluate(): its schema and text decide name, help and value.
  addSchemaFlags(command, evaluateOptionsSchema.shape, EVALUATE_OPTION_TEXT)
    .option('--json', 'print the contract JSON instead of a table')
    .action(async (flags: EvalFlags) => {
      const options = schemaFlagValues(flags, evaluateOptionsSchema.shape, EVALUATE_OPTION_TEXT) as EvaluateOptions;
      if (flags.run === undefined && flags.weights === undefined) throw new UsageError('--run: give a run directory (or --weights with --dataset)');
      const gallery = progressTo('gallery', 'img');
      const queries = progressTo('eval', 'query');
      // One bar for the gallery, one for all query conditions together (the conditions advance
      // batch by batch side by side, so the bar sums what each condition has done).
      const doneBy = new Map<number, number>();
      const onProgress = (p: EvalProgress) => {
        if (p.stage === 'gallery') return gallery.update(p.done, p.total);
        gallery.stop();
        doneBy.set(p.conditionIndex, p.done);
        queries.update([...doneBy.values()].reduce((a, b) => a + b, 0), p.conditions * p.total, p.condition);
      };
      try {
        const report = await asUsage(() => evaluate(flags.run ?? null, { ...options, onProgress }), isOptionError, flagFor(EVALUATE_OPTION_TEXT));
        io.stdout.write(flags.json ? `${JSON.stringify(contractOutput(report))}\n` : formatEvaluation(report));
        if (flags.run !== undefined && flags.out === undefined) await (await import('../../report/index.js')).writeRunReport(flags.run);
      } finally {
        gallery.stop();
        queries.stop();
      }
    });
}

const isOptionError = (err: unknown): err is OptionError => err instanceof OptionError;
