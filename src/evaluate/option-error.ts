// The error of an option that cannot be used, naming it as the library's options do.

/** An option that cannot be used; `option` is its name in EvaluateOptions (`eps`, `dataRoot`, ...). */
export class OptionError extends Error {
  override name = 'OptionError';
  constructor(
    readonly option: string,
    readonly detail: string,
  ) {
    super(`${option}: ${detail}`);
  }
}
