// safetensors read and write: an 8-byte little-endian header length, a JSON header naming each
// tensor's dtype, shape and byte range, then the raw little-endian bytes. Writes are atomic, and
// each tensor's bytes go from its native memory to the file with no copy through JavaScript.
import { closeSync, fsyncSync, openSync, readSync, renameSync, writeSync } from 'node:fs';
import { native } from '../native/index.js';
import { quote } from './bounded-text.js';
import { tensor } from './creation.js';
import type { DType } from './dtype.js';
import { ITEM_BYTES, viewAs } from './dtype.js';
import type { Tensor } from './tensor.js';
import { FILE_DTYPES, readSafetensorsHeader, type SafetensorsHeader } from './safetensors-header.js';

const toFileDtype = Object.fromEntries(Object.entries(FILE_DTYPES).map(([k, v]) => [v, k])) as Partial<Record<DType, string>>;

export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/**
 * Read every tensor (or only those named in `only`) from a safetensors file. The header is checked
 * whole first (readSafetensorsHeader), so a malformed file allocates nothing; `header` skips that
 * when the caller has already read it.
 */
export function readSafetensors(path: string, only?: ReadonlySet<string>, header: SafetensorsHeader = readSafetensorsHeader(path)): SafetensorsFile {
  const tensors = new Map<string, Tensor>();
  const fd = openSync(path, 'r');
  try {
    for (const [name, entry] of header.entries) {
      if (only && !only.has(name)) continue;
      // A fresh buffer per tensor: typed arrays need alignment that file offsets lack.
      const raw = new ArrayBuffer(entry.end - entry.begin);
      const view = new Uint8Array(raw);
      let done = 0;
      while (done < view.length) {
        const n = readSync(fd, view, done, view.length - done, header.dataStart + entry.begin + done);
        if (n === 0) throw new Error(`${path}: tensor ${quote(name)} ends past the end of the file (the file shrank while being read)`);
        done += n;
      }
      tensors.set(name, tensor(viewAs(entry.dtype, raw), entry.shape, { dtype: entry.dtype }));
    }
  } catch (err) {
    for (const t of tensors.values()) t.dispose();
    throw err;
  } finally {
    closeSync(fd);
  }
  return { tensors, metadata: header.metadata };
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
  let offset = 0;
  for (const [name, t] of entries) {
    const fileDtype = toFileDtype[t.dtype];
    if (!fileDtype) throw new Error(`writeSafetensors: tensor ${quote(name)} has unsupported dtype ${t.dtype}`);
    const bytes = t.numel * ITEM_BYTES[t.dtype];
    header[name] = { dtype: fileDtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // keep the data 8-byte aligned
  const headerBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.length));
  writeAtomic(path, (fd) => {
    writeAll(fd, prefix);
    writeAll(fd, headerBytes);
    for (const [, t] of entries) native.writeTensorBytes(t.handle, fd);
  });
}

function writeAll(fd: number, part: Uint8Array): void {
  let written = 0;
  while (written < part.byteLength) written += writeSync(fd, part, written);
}

/** Runs `write` on a temporary sibling, fsyncs, then renames it over the target: readers never see half a file. */
function writeAtomic(path: string, write: (fd: number) => void): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    write(fd);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Write to a temporary sibling, fsync, then rename over the target: readers never see half a file. */
export function writeFileAtomic(path: string, parts: readonly Uint8Array[]): void {
  writeAtomic(path, (fd) => {
    for (const part of parts) writeAll(fd, part);
  });
}
