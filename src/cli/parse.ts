// Turning flag strings into the library's option values; a bad value is a UsageError naming the
// flag. Library errors that name an option are mapped back to its flag here too.
import { flagOf } from '../train/config.js';
import { UsageError } from './errors.js';

const WHOLE = /^\d+$/;

/** An integer >= min (and <= max when given). */
export function integerFlag(flag: string, text: string, min = 1, max?: number): number {
  const n = Number(text);
  if (!WHOLE.test(text.trim()) || !Number.isSafeInteger(n) || n < min || (max !== undefined && n > max)) {
    const expected = max !== undefined ? `an integer in ${min}..${max}` : min === 1 ? 'a positive integer' : `an integer >= ${min}`;
    throw new UsageError(`${flag}: expected ${expected}, got '${text}'`);
  }
  return n;
}

/** A comma-separated list without empty items. */
export function listFlag(flag: string, text: string): string[] {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.some((p) => p === '')) throw new UsageError(`${flag}: expected a comma-separated list, got '${text}'`);
  return parts;
}

export function integerListFlag(flag: string, text: string, min = 1): number[] {
  return listFlag(flag, text).map((part) => integerFlag(flag, part, min));
}

/**
 * Runs `work`, turning a library error that names an option (`option`, `detail`) into a UsageError
 * naming its flag (`flagFor`: the flag of an option, default its kebab-case name).
 */
export async function asUsage<T>(
  work: () => Promise<T>,
  isOptionError: (err: unknown) => err is Error & { option: string; detail: string },
  flagFor: (option: string) => string = flagOf,
): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (isOptionError(err)) throw new UsageError(`${flagFor(err.option)}: ${err.detail}`);
    throw err;
  }
}
