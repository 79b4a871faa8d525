// Comparing a state dict with a model's own tensors, and the one error that names every problem.
import { plainName, type Tensor } from '../torch/index.js';

export interface ShapeMismatch {
  name: string;
  expected: readonly number[];
  got: readonly number[];
}

/** What did not line up between a model and a state dict, by name. */
export interface LoadReport {
  /** Keys the model has and the state dict lacks. */
  missing: string[];
  /** Keys the state dict has and the model lacks. */
  unexpected: string[];
  mismatched: ShapeMismatch[];
}

export class StateDictError extends Error {
  override name = 'StateDictError';
  constructor(readonly report: LoadReport) {
    super(describeReport(report));
  }
}

export function checkStateDict(own: ReadonlyMap<string, Tensor>, state: ReadonlyMap<string, Tensor>): LoadReport {
  const missing: string[] = [];
  const mismatched: ShapeMismatch[] = [];
  for (const [name, target] of own) {
    const source = state.get(name);
    if (!source) missing.push(name);
    else if (!sameShape(target.shape, source.shape)) mismatched.push({ name, expected: target.shape, got: source.shape });
  }
  const unexpected = [...state.keys()].filter((name) => !own.has(name));
  return { missing, unexpected, mismatched };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

const shown = 20; // a wholly wrong file would otherwise print hundreds of names

/** The first names, each as it is or quoted and cut (src/torch/bounded-text.ts), and how many more. */
function listNames(names: readonly string[], show: (name: string) => string = plainName): string {
  const head = names.slice(0, shown).map((name) => show(name)).join(', ');
  return names.length > shown ? `${head}, ... (${names.length - shown} more)` : head;
}

export function describeReport(r: LoadReport): string {
  const lines = ['state dict does not match the model:'];
  if (r.missing.length) lines.push(`  missing keys (${r.missing.length}): ${listNames(r.missing)}`);
  if (r.unexpected.length) lines.push(`  unexpected keys (${r.unexpected.length}): ${listNames(r.unexpected)}`);
  if (r.mismatched.length) {
    const items = r.mismatched.map((m) => `${plainName(m.name)} (model [${m.expected.join(', ')}], file [${m.got.join(', ')}])`);
    lines.push(`  shape mismatches (${r.mismatched.length}): ${listNames(items, (item) => item)}`);
  }
  return lines.join('\n');
}
