// `mdprop report DIR`: rebuilds report.html of a run directory or an experiment directory from its
// JSON files and prints where it went.
import type { Command } from 'commander';
import { reportKind, writeReport } from '../../report/index.js';
import { UsageError } from '../errors.js';
import type { CliStreams } from '../io.js';

export function registerReport(program: Command, io: CliStreams): void {
  program
    .command('report')
    .description('rebuild report.html of a run directory (config.json) or an experiment directory (experiment.json) from its files')
    .argument('<dir>', 'a run directory or an experiment directory')
    .action(async (dir: string) => {
      if (reportKind(dir) === null) throw new UsageError(`report: ${dir} is neither a run directory (no config.json) nor an experiment directory (no experiment.json)`);
      const { file } = await writeReport(dir);
      io.stdout.write(`${file}\n`);
    });
}
