// Which report a folder gets: an experiment's when it holds experiment.json, a run's when it holds
// config.json (an experiment's own folder is not a run, and its runs are its sub-folders).
import { existsSync, statSync } from 'node:fs';
import { EXPERIMENT_FILES, ExperimentDirectory, RunDirectory } from '../../formats/index.js';
import { writeExperimentReport } from './experiment-report.js';
import { writeRunReport } from './run-report.js';

export type ReportKind = 'run' | 'experiment';

/** 'experiment', 'run', or null for a folder that is neither (or no folder at all). */
export function reportKind(dir: string): ReportKind | null {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return null;
  if (new ExperimentDirectory(dir).has('experiment')) return 'experiment';
  return RunDirectory.holdsRun(dir) ? 'run' : null;
}

/** Rebuilds `<dir>/report.html` from the folder's JSON files; returns what was written. */
export async function writeReport(dir: string): Promise<{ kind: ReportKind; file: string }> {
  const kind = reportKind(dir);
  if (kind === null) throw new Error(`${dir}: neither a run directory (no config.json) nor an experiment directory (no ${EXPERIMENT_FILES.experiment})`);
  return { kind, file: kind === 'run' ? await writeRunReport(dir) : await writeExperimentReport(dir) };
}
