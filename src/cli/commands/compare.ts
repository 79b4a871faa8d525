// `mdprop compare RUN...`: clean and attacked retrieval of several runs side by side, with each
// run's robustness ratio against the first.
import type { Command } from 'commander';
import { writeJsonFile } from '../../formats/index.js';
import { compareRuns, formatComparison, loadRun } from '../../report/compare.js';
import { UsageError } from '../errors.js';
import type { CliStreams } from '../io.js';

export function registerCompare(program: Command, io: CliStreams): void {
  program
    .command('compare')
    .description('compare runs side by side: clean metrics (summary.json) and Recall@1 under attack (eval.json); ratios are against the first run')
    .argument('<runs...>', 'run directories; the first is the reference (e.g. the baseline)')
    .option('--json', 'print the comparison as JSON')
    .option('--out <file>', 'also write the comparison JSON to this file')
    .action((dirs: string[], options: { json?: boolean; out?: string }) => {
      if (dirs.length < 1) throw new UsageError('compare: name at least one run directory');
      const comparison = compareRuns(dirs.map(loadRun));
      if (options.out) writeJsonFile(options.out, comparison);
      io.stdout.write(options.json ? `${JSON.stringify(comparison, null, 2)}\n` : `${formatComparison(comparison)}\n`);
    });
}
