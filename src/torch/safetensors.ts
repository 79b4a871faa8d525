// safetensors read and write: an 8-byte little-endian header length, a JSON header naming each
// tensor's dtype, shape and byte range, then the raw little-endian bytes. Writes are atomic.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { tensor } from './creation.js';
import type { DType } from './dtype.js';
import { viewAs } from './dtype.js';
import type { Tensor } from './tensor.js';

const toFileDtype: Partial<Record<DType, string>> = {
  float32: 'F32',
  float64: 'F64',
  float16: 'F16',
  bfloat16: 'BF16',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};
const fromFileDtype = new Map<string, DType>(Object.entries(toFileDtype).map(([k, v]) => [v, k as DType]));

export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Read every tensor (or only those named in `only`) from a safetensors file. */
export function readSafetensors(path: string, only?: ReadonlySet<string>): SafetensorsFile {
  const bytes = readFileSync(path);
  if (bytes.length < 8) throw new Error(`${path}: not a safetensors file (too short)`);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  if (headerLength > bytes.length - 8) throw new Error(`${path}: not a safetensors file (header length ${headerLength} exceeds file)`);
  let header: Record<string, HeaderEntry | Record<string, string>>;
  try {
    header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as typeof header;
  } catch (err) {
    throw new Error(`${path}: not a safetensors file (bad JSON header: ${(err as Error).message})`);
  }
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, Tensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    if (only && !only.has(name)) continue;
    const { dtype: fileDtype, shape, data_offsets: offsets } = entry as HeaderEntry;
    const dtype = fromFileDtype.get(fileDtype);
    if (!dtype) throw new Error(`${path}: tensor '${name}' has unsupported dtype ${fileDtype}`);
    const [begin, end] = offsets;
    if (begin < 0 || end < begin || dataStart + end > bytes.length) {
      throw new Error(`${path}: tensor '${name}' has byte range [${begin}, ${end}) outside the file`);
    }
    // Copy into a fresh, aligned buffer: typed arrays need alignment that file offsets lack.
    const raw = new ArrayBuffer(end - begin);
    new Uint8Array(raw).set(bytes.subarray(dataStart + begin, dataStart + end));
    tensors.set(name, tensor(viewAs(dtype, raw), shape, { dtype }));
  }
  return { tensors, metadata };
}

/** Write tensors (sorted by name, as the reference writer does) and string metadata, atomically. */
export function writeSafetensors(
  path: string,
  tensors: Map<string, Tensor> | Record<string, Tensor>,
  metadata: Record<string, string> = {},
): void {
  const entries = [...(tensors instanceof Map ? tensors.entries() : Object.entries(tensors))].sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    const fileDtype = toFileDtype[t.dtype];
    if (!fileDtype) throw new Error(`writeSafetensors: tensor '${name}' has unsupported dtype ${t.dtype}`);
    const data = t.data();
    const chunk = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    header[name] = { dtype: fileDtype, shape: [...t.shape], data_offsets: [offset, offset + chunk.byteLength] };
    chunks.push(chunk);
    offset += chunk.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // keep the data 8-byte aligned
  const headerBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.length));
  writeFileAtomic(path, [prefix, headerBytes, ...chunks]);
}

/** Write to a temporary sibling, fsync, then rename over the target: readers never see half a file. */
export function writeFileAtomic(path: string, parts: readonly Uint8Array[]): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    for (const part of parts) {
      let written = 0;
      while (written < part.byteLength) written += writeSync(fd, part, written);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
