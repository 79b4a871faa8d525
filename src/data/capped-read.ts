// Reading a whole file that someone else may have made, with a bound: it is opened without
// blocking (a FIFO or a device is refused, not waited on), refused from its size before anything
// is allocated for it, and read no further than one byte past the bound if it grows meanwhile.
// Gzipped files are inflated with a bound on the output as well, so a small bomb cannot expand.
import { constants, promises as fs } from 'node:fs';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { reasonOf } from './errors.js';

/** Index, annotation and IDX files of the datasets: the largest real one (SOP's lists) is under 10 MB. */
export const MAX_DATA_FILE_BYTES = 64 * 2 ** 20;
/** What a gzipped data file may inflate to: Fashion-MNIST's training images are 47 MB. */
export const MAX_INFLATED_BYTES = 256 * 2 ** 20;

/** Why a capped read failed: `code` is the system's error code where there is one (ENOENT, ...). */
export interface ReadFailure {
  readonly reason: string;
  readonly code?: string;
}

/**
 * The bytes of `file`, at most `maxBytes` of them. `what` names the kind of file in the reasons
 * ("an image file"); every failure is the Error `fail` makes of it.
 */
export async function readFileCapped(file: string, maxBytes: number, what: string, fail: (f: ReadFailure) => Error): Promise<Buffer> {
  let handle: fs.FileHandle;
  try {
    // Non-blocking: opening a FIFO would otherwise wait for a writer forever.
    handle = await fs.open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw fail({ reason: code === 'ENOENT' ? 'file not found' : reasonOf(err), ...(code === undefined ? {} : { code }) });
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw fail({ reason: `not a regular file (a FIFO, a device or a folder); only ${what.replace(/^an? /, '')}s are read` });
    if (stat.size > maxBytes) throw fail({ reason: `${stat.size} bytes is more than the ${maxBytes} ${what} may have` });
    // One byte more than the limit, in case the file grew since it was measured.
    const buffer = Buffer.alloc(Math.min(stat.size + 1, maxBytes + 1));
    let done = 0;
    while (done < buffer.length) {
      const { bytesRead } = await handle.read(buffer, done, buffer.length - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    if (done > maxBytes) throw fail({ reason: `more than the ${maxBytes} bytes ${what} may have` });
    return buffer.subarray(0, done);
  } finally {
    await handle.close();
  }
}

const gunzipAsync = promisify(gunzip);

/** Inflates gzip bytes, refusing output above `maxBytes` (zlib stops there; nothing larger is made). */
export async function gunzipCapped(bytes: Uint8Array, maxBytes: number, fail: (f: ReadFailure) => Error): Promise<Buffer> {
  try {
    return await gunzipAsync(bytes, { maxOutputLength: maxBytes });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') throw fail({ reason: `inflates to more than ${maxBytes} bytes`, code });
    throw fail({ reason: `not a readable gzip file (${reasonOf(err)})`, ...(code === undefined ? {} : { code }) });
  }
}
