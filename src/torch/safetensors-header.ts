// The header of a safetensors file, read and checked without touching the tensor bytes: every
// entry's dtype, shape and byte range must be well formed, and the ranges must tile the data
// section exactly (sorted, no gap, no overlap, each as long as its shape says). Callers can then
// decide from names and shapes alone whether the file is worth reading.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { boundedMessage, quote } from './bounded-text.js';
import { ITEM_BYTES, type DType } from './dtype.js';

/** A file that is not the safetensors it claims to be; the message names the file and the entry at fault. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

/** Far above any real header (the reference implementation's limit) and cheap to hold. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;
/** No tensor mdprop or torchvision writes has more dimensions than this. */
const MAX_DIMS = 8;

export const FILE_DTYPES: Readonly<Record<string, DType>> = {
  F32: 'float32',
  F64: 'float64',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};


export interface HeaderEntry {
  dtype: DType;
  shape: number[];
  /** Byte range inside the data section. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  path: string;
  entries: Map<string, HeaderEntry>;
  metadata: Record<string, string>;
  /** Offset of the data section in the file. */
  dataStart: number;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** A JSON value from the header, for an error message: short values as they are, others described. */
function shown(v: unknown): string {
  if (typeof v === 'string') return quote(v, 40);
  if (typeof v !== 'object' || v === null) return String(v);
  if (Array.isArray(v)) return v.length <= 8 && v.every((x) => typeof x === 'number') ? `[${v.join(', ')}]` : `a list of ${v.length}`;
  return 'an object';
}

/** Reads and checks the header of `path`; throws `<path>: ...` naming the entry at fault. */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  const fd = openSync(path, 'r');
  try {
    const fileSize = fstatSync(fd).size;
    const fail = (why: string): never => {
      throw new SafetensorsError(`${path}: not a safetensors file (${why})`);
    };
    if (fileSize < 8) fail('shorter than its 8-byte header length');
    const prefix = Buffer.alloc(8);
    readSync(fd, prefix, 0, 8, 0);
    const length = prefix.readBigUInt64LE(0);
    if (length > BigInt(Math.min(fileSize - 8, MAX_HEADER_BYTES))) fail(`header length ${length} exceeds the file or ${MAX_HEADER_BYTES} bytes`);
    const text = Buffer.alloc(Number(length));
    for (let done = 0; done < text.length; ) {
      const n = readSync(fd, text, done, text.length - done, 8 + done);
      if (n === 0) fail('the file shrank while its header was read');
      done += n;
    }
    let json: unknown;
    try {
      json = JSON.parse(text.toString('utf8'));
    } catch (err) {
      return fail(`bad JSON header: ${boundedMessage(err, 200)}`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('the header is not a JSON object');
    const dataStart = 8 + text.length;
    const header = parseEntries(json as Record<string, unknown>, fileSize - dataStart, fail);
    return { path, dataStart, ...header };
  } finally {
    closeSync(fd);
  }
}

function parseEntries(json: Record<string, unknown>, dataBytes: number, fail: (why: string) => never): Omit<SafetensorsHeader, 'path' | 'dataStart'> {
  const entries = new Map<string, HeaderEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw as object)) if (typeof v !== 'string') fail(`__metadata__ entry ${quote(k)} is not a string`);
      metadata = raw as Record<string, string>;
      continue;
    }
    entries.set(name, parseEntry(raw, (why) => fail(`tensor ${quote(name)}: ${why}`)));
  }
  // The ranges, in file order, must follow each other from 0 to the end of the file.
  const ordered = [...entries].sort(([, a], [, b]) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const [name, e] of ordered) {
    if (e.begin !== at) fail(`tensor ${quote(name)}: byte range [${e.begin}, ${e.end}) ${e.begin < at ? 'overlaps the tensor before it' : `leaves a gap after byte ${at}`}`);
    if (e.end > dataBytes) fail(`tensor ${quote(name)}: byte range [${e.begin}, ${e.end}) ends past the ${dataBytes} bytes of data in the file`);
    at = e.end;
  }
  if (at !== dataBytes) fail(`the tensors cover ${at} bytes of data, the file holds ${dataBytes}`);
  return { entries, metadata };
}

function parseEntry(raw: unknown, fail: (why: string) => never): HeaderEntry {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('not an object');
  const { dtype: fileDtype, shape, data_offsets: offsets, ...rest } = raw as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length) fail(`unknown field ${quote(extra[0]!)}`);
  const dtype = typeof fileDtype === 'string' ? FILE_DTYPES[fileDtype] : undefined;
  if (dtype === undefined) fail(`unsupported dtype ${shown(fileDtype)}; expected one of ${Object.keys(FILE_DTYPES).join(', ')}`);
  if (!Array.isArray(shape) || shape.length > MAX_DIMS || !shape.every(isCount)) fail(`shape ${shown(shape)} is not a list of at most ${MAX_DIMS} whole numbers >= 0`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) fail(`data_offsets ${shown(offsets)} are not two whole numbers >= 0`);
  const [begin, end] = offsets as [number, number];
  const bytes = (shape as number[]).reduce((n, d) => n * d, ITEM_BYTES[dtype!]);
  if (end - begin !== bytes) fail(`byte range [${begin}, ${end}) holds ${end - begin} bytes, shape [${(shape as number[]).join(', ')}] of ${fileDtype} needs ${bytes}`);
  return { dtype: dtype!, shape: shape as number[], begin, end };
}
