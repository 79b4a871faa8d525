// Errors of gallery indexes and search: a setting, a file or an input that cannot be used, named.

/** An index cannot be built, opened, extended or searched as asked; the message says why. */
export class IndexError extends Error {
  override name = 'IndexError';
}

/** A query image that is refused (not an allowed format, too many pixels, undecodable). */
export class QueryImageError extends Error {
  override name = 'QueryImageError';
  constructor(
    message: string,
    /** 415: a format that is not accepted; 413: too many pixels; 400: not an image or corrupt. */
    readonly status: 400 | 413 | 415,
  ) {
    super(message);
  }
}
