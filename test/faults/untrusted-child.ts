// Child process of the untrusted-file tests: reads each file of a case list (a JSON file named on
// the command line) as the case says, and prints one JSON line per case as soon as it ends: the
// outcome (or the error's name and the start of its message), the milliseconds it took, the growth
// of the resident set over the case (its peak, from VmHWM, which is reset before each case), and
// the tensors left alive. A case that crashes the process leaves the lines of those before it.
import { readFileSync, writeFileSync } from 'node:fs';
import { convertWeights, loadModelFile } from '../../src/formats/index.js';
import { dispose, liveTensors, readPytorchCheckpoint, readSafetensors } from '../../src/torch/index.js';

export type CaseAction = 'pth' | 'convert' | 'model' | 'safetensors';

export interface ChildCase {
  id: string;
  action: CaseAction;
  path: string;
  /** Output file of 'convert'. */
  out?: string;
  /** Architecture for 'model' files that record none. */
  arch?: string;
}

export interface CaseOutcome {
  id: string;
  ok: boolean;
  error: { name: string; message: string; length: number } | null;
  ms: number;
  /** Peak growth of the resident set during the case, MiB. */
  peakMiB: number;
  /** Tensors alive after the case minus before. */
  leaked: number;
}

function status(field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
}

function run(c: ChildCase): void {
  switch (c.action) {
    case 'pth':
      dispose(readPytorchCheckpoint(c.path).tensors);
      return;
    case 'convert':
      convertWeights(c.path, c.out!);
      return;
    case 'model':
      loadModelFile(c.path, c.arch === undefined ? {} : { arch: c.arch }).model.dispose();
      return;
    case 'safetensors':
      dispose(readSafetensors(c.path).tensors);
  }
}

/** Resets VmHWM to the current resident set; where the kernel refuses, the peak is measured from the child's start. */
function resetPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

const cases = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as ChildCase[];
const atStart = status('VmRSS');
for (const c of cases) {
  const live = liveTensors();
  const before = resetPeak() ? status('VmRSS') : atStart;
  const started = performance.now();
  let error: CaseOutcome['error'] = null;
  try {
    run(c);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    error = { name: e.name, message: e.message.slice(0, 400), length: e.message.length };
  }
  const outcome: CaseOutcome = { id: c.id, ok: error === null, error, ms: Math.round(performance.now() - started), peakMiB: Math.round((status('VmHWM') - before) * 10) / 10, leaked: liveTensors() - live };
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
}
