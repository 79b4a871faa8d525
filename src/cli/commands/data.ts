// `mdprop data check --dataset NAME [--root DIR] [--json]`: reads every index file and decodes
// every image of every split, then reports classes and images per split and each unreadable
// image. Exit 0 when all images decode, 1 when any does not (after listing them all), 2 for
// bad flags; a missing root, index file or class folder is an error naming the path (exit 1).
import type { Command } from 'commander';
import { checkDataset, DATASET_NAMES, DATASETS, imageCount, isDatasetName, openDataset, type CheckReport } from '../../data/index.js';
import { UsageError } from '../errors.js';
import { printable, type CliStreams } from '../io.js';
import { progressBar } from '../progress.js';

interface CheckFlags {
  readonly dataset: string;
  readonly root?: string;
  readonly json?: boolean;
}

export function registerData(program: Command, io: CliStreams): void {
  const data = program.command('data').description('inspect datasets');
  data
    .command('check')
    .description('decode every image of every split and report classes and images per split')
    .requiredOption('--dataset <name>', `dataset: ${DATASET_NAMES.join(', ')}`)
    .option('--root <dir>', 'folder the dataset was downloaded to (not for fashion-mnist, mnist)')
    .option('--json', 'print the report as JSON')
    .action(async (flags: CheckFlags) => {
      process.exitCode = await runCheck(flags, io);
    });
}

async function runCheck(flags: CheckFlags, io: CliStreams): Promise<number> {
  const name = flags.dataset;
  if (!isDatasetName(name)) throw new UsageError(`unknown dataset "${name}"; valid: ${DATASET_NAMES.join(', ')}`);
  if (!DATASETS[name].needsRoot && flags.root !== undefined) throw new UsageError(`${name} is embedded and takes no --root`);
  if (DATASETS[name].needsRoot && flags.root === undefined) throw new UsageError(`--root <dir> is required for ${name}`);

  const dataset = await openDataset(name, { root: flags.root });
  const progress = progressBar(`data check ${name}`, imageCount(dataset), 'img');
  let report: CheckReport;
  try {
    report = await checkDataset(dataset, { onImage: () => progress.tick() });
  } finally {
    progress.stop();
  }
  io.stdout.write(flags.json ? `${JSON.stringify(jsonReport(report))}\n` : textReport(report, dataset.root));
  return report.unreadable.length === 0 ? 0 : 1;
}

/** Exactly the keys of the contract in issue 3. */
function jsonReport(report: CheckReport): object {
  return { dataset: report.dataset, splits: report.splits, unreadable: report.unreadable.map((u) => u.path) };
}

function textReport(report: CheckReport, root: string | undefined): string {
  const lines = [`${report.dataset}${root ? ` at ${root}` : ' (embedded)'}`];
  for (const [split, count] of Object.entries(report.splits)) {
    lines.push(`  ${split.padEnd(8)} ${String(count.classes).padStart(6)} classes ${String(count.images).padStart(8)} images`);
  }
  if (report.unreadable.length === 0) {
    lines.push('all images decode');
  } else {
    lines.push(`${report.unreadable.length} unreadable image${report.unreadable.length === 1 ? '' : 's'}:`);
    for (const u of report.unreadable) lines.push(`  ${printable(u.path, true)}: ${printable(u.reason, true)}`);
  }
  return `${lines.join('\n')}\n`;
}
