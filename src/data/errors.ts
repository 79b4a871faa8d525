// Errors of the data layer. Each names the file or folder at fault, relative to the dataset root
// where there is one, so a user can go straight to it.

/** Something on disk is missing or malformed: a root, an index file, a class folder, an index line. */
export class DataError extends Error {
  override name = 'DataError';
  /** The path at fault, relative to the dataset root where one applies. */
  readonly path: string;

  constructor(message: string, path: string) {
    super(message);
    this.path = path;
  }
}

/** An image that cannot be read or decoded (missing file, corrupt or unsupported data). */
export class ImageDecodeError extends DataError {
  override name = 'ImageDecodeError';
  /** Why, without the path: "file not found", the decoder's message, ... */
  readonly reason: string;

  constructor(path: string, reason: string) {
    super(`cannot decode image ${path}: ${reason}`, path);
    this.reason = reason;
  }
}

/** The text of any thrown value, for wrapping library errors. */
export function reasonOf(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.message;
  return String(err);
}
