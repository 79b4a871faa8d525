// Reading and writing the project's JSON files through their zod schemas: a file that does not
// match is a FormatError naming the file and the first field at fault; writes are atomic.
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { writeFileAtomic } from '../torch/index.js';
import { FormatError, fieldPath } from './errors.js';

/** Checks an already parsed value against a schema; `file` names where it came from. */
export function parseWithSchema<S extends z.ZodType>(file: string, schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new FormatError(file, issue.path.length ? fieldPath(issue.path) : null, issue.message);
}

/** Reads `path` as JSON and checks it against `schema`. */
export function readJsonFile<S extends z.ZodType>(path: string, schema: S): z.output<S> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FormatError(path, null, code === 'ENOENT' ? 'file not found' : `cannot read (${(err as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new FormatError(path, null, `not valid JSON (${(err as Error).message})`);
  }
  return parseWithSchema(path, schema, value);
}

/** Writes `value` as pretty JSON, atomically (a reader never sees half a file). */
export function writeJsonFile(path: string, value: unknown): void {
  writeFileAtomic(path, [Buffer.from(`${JSON.stringify(value, null, 2)}\n`, 'utf8')]);
}
