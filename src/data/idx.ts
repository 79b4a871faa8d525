// The IDX format of MNIST and Fashion-MNIST (yann.lecun.com/exdb/mnist): a big-endian header
// (two zero bytes, a type code, the number of dimensions, then each dimension as a 32-bit count)
// followed by the values. Only unsigned bytes (type 0x08) occur in these datasets. Files may be
// gzip-compressed, as they are distributed.
import { gunzipCapped, MAX_DATA_FILE_BYTES, MAX_INFLATED_BYTES, readFileCapped, type ReadFailure } from './capped-read.js';
import { DataError } from './errors.js';

const UNSIGNED_BYTE = 0x08;

export interface IdxArray {
  /** Sizes of each dimension, e.g. [60000, 28, 28] for images, [60000] for labels. */
  readonly shape: readonly number[];
  /** The values in row-major order. */
  readonly data: Uint8Array;
}

/** Parses the bytes of one (already decompressed) IDX file; errors name `file`. */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  const fail = (why: string): never => {
    throw new DataError(`${file}: not an IDX file of unsigned bytes (${why})`, file);
  };
  if (bytes.length < 4) fail(`${bytes.length} bytes`);
  if (bytes[0] !== 0 || bytes[1] !== 0) fail('the first two bytes must be zero');
  if (bytes[2] !== UNSIGNED_BYTE) fail(`type code 0x${(bytes[2] ?? 0).toString(16)}, expected 0x08`);
  const dims = bytes[3] as number;
  if (dims < 1 || dims > 4) fail(`${dims} dimensions`);
  const header = 4 + 4 * dims;
  if (bytes.length < header) fail('header cut short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: dims }, (_, i) => view.getUint32(4 + 4 * i));
  const count = shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== header + count) fail(`shape [${shape.join(', ')}] needs ${header + count} bytes, the file has ${bytes.length}`);
  return { shape, data: bytes.subarray(header) };
}

/** Reads an IDX file, decompressing it when its name ends in .gz. */
export async function readIdxFile(file: string): Promise<IdxArray> {
  const fail = ({ reason, code }: ReadFailure) => new DataError(`${file}: ${code === 'ENOENT' ? 'missing' : reason}`, file);
  let bytes: Uint8Array = await readFileCapped(file, MAX_DATA_FILE_BYTES, 'an IDX file', fail);
  if (file.endsWith('.gz')) bytes = await gunzipCapped(bytes, MAX_INFLATED_BYTES, fail);
  return parseIdx(bytes, file);
}
