// The error every reader of an on-disk format throws: it names the file and, when one is at fault,
// the field (a dotted path such as `attacks[2].eps`), so the user knows what to fix. A field named
// by the file itself (a tensor's name) is quoted escaped and cut, so the message stays one short line.
import { quote } from '../torch/index.js';

export class FormatError extends Error {
  override name = 'FormatError';
  constructor(
    readonly file: string,
    readonly field: string | null,
    readonly detail: string,
  ) {
    super(`${file}: ${field === null ? '' : `${quote(field)}: `}${detail}`);
  }
}

/** `['attacks', 2, 'eps']` -> `attacks[2].eps`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}
