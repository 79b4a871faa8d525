// The central directory of a zip archive (torch.save's container), read and checked before any
// record is: each record's name, method, sizes and place in the file, so the caller can decide
// from sizes alone what is worth inflating and refuse what is not. Records are found the way
// libtorch's reader (miniz) finds them, so both sides agree on which bytes a name means: names
// are compared without regard to case, and an archive where two names collide that way is refused.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32, inflateRawSync } from 'node:zlib';
import { quote } from './bounded-text.js';

export class ZipError extends Error {
  override name = 'ZipError';
}

export interface ZipRecord {
  /** The name inside the archive's folder (`data.pkl`, `data/0`, ...). */
  readonly name: string;
  /** 0: stored, 8: deflated. */
  readonly method: 0 | 8;
  readonly crc: number;
  /** Bytes in the file. */
  readonly compressedSize: number;
  /** Bytes once inflated, as the directory claims. */
  readonly size: number;
  readonly localOffset: number;
}

export interface ZipDirectory {
  /** The folder every record sits in (torch.save: the checkpoint's file name without extension). */
  readonly folder: string;
  readonly records: ReadonlyMap<string, ZipRecord>;
  readonly fileSize: number;
}

/** No checkpoint has more records than this (one per storage, and a few more). */
export const MAX_ZIP_RECORDS = 1_000_000;

const EOCD = 0x06054b50;
const EOCD64_LOCATOR = 0x07064b50;
const EOCD64 = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

function readAt(fd: number, position: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, length - done, position + done);
    if (n === 0) throw new ZipError(`the file ends at byte ${position + done}, before ${length} bytes at ${position} were read (truncated?)`);
    done += n;
  }
  return out;
}

const u64 = (b: Buffer, at: number, what: string): number => {
  const v = b.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError(`${what} ${v} is not a size any file has`);
  return Number(v);
};

/** Reads the directory of the zip archive open as `fd`. */
export function readZipDirectory(fd: number): ZipDirectory {
  const fileSize = fstatSync(fd).size;
  if (fileSize < 22) throw new ZipError(`${fileSize} bytes are too few for a zip archive`);
  // The end record is the last 22 bytes, unless a comment (up to 64 KiB) follows it.
  const tailLength = Math.min(fileSize, 22 + 0xffff);
  const tail = readAt(fd, fileSize - tailLength, tailLength);
  let at = -1;
  for (let i = tailLength - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD && i + 22 + tail.readUInt16LE(i + 20) <= tailLength) {
      at = i;
      break;
    }
  }
  if (at < 0) throw new ZipError('no end of the central directory (not a zip archive, or truncated)');
  let entries = tail.readUInt16LE(at + 10);
  let directorySize = tail.readUInt32LE(at + 12);
  let directoryOffset = tail.readUInt32LE(at + 16);
  if (entries === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    const endAt = fileSize - tailLength + at;
    if (endAt < 20) throw new ZipError('a zip64 archive without its locator');
    const locator = readAt(fd, endAt - 20, 20);
    if (locator.readUInt32LE(0) !== EOCD64_LOCATOR) throw new ZipError('a zip64 archive without its locator');
    const recordAt = u64(locator, 8, 'the zip64 end record offset');
    if (recordAt + 56 > endAt) throw new ZipError('the zip64 end record lies outside the file');
    const record = readAt(fd, recordAt, 56);
    if (record.readUInt32LE(0) !== EOCD64) throw new ZipError('the zip64 end record is missing');
    entries = u64(record, 32, 'the entry count');
    directorySize = u64(record, 40, 'the directory size');
    directoryOffset = u64(record, 48, 'the directory offset');
  }
  if (entries > MAX_ZIP_RECORDS) throw new ZipError(`${entries} records; at most ${MAX_ZIP_RECORDS} are read`);
  if (directoryOffset + directorySize > fileSize || directorySize < entries * 46) {
    throw new ZipError(`the central directory (${directorySize} bytes at ${directoryOffset}, ${entries} records) does not fit the ${fileSize}-byte file`);
  }
  return parseEntries(readAt(fd, directoryOffset, directorySize), entries, directoryOffset, fileSize);
}

function parseEntries(directory: Buffer, entries: number, directoryOffset: number, fileSize: number): ZipDirectory {
  const all: ZipRecord[] = [];
  const seen = new Set<string>();
  let at = 0;
  for (let i = 0; i < entries; i++) {
    if (at + 46 > directory.length || directory.readUInt32LE(at) !== CENTRAL) throw new ZipError(`central directory record ${i} is malformed`);
    const flags = directory.readUInt16LE(at + 8);
    const method = directory.readUInt16LE(at + 10);
    let compressedSize = directory.readUInt32LE(at + 20);
    let size = directory.readUInt32LE(at + 24);
    const nameLength = directory.readUInt16LE(at + 28);
    const extraLength = directory.readUInt16LE(at + 30);
    const commentLength = directory.readUInt16LE(at + 32);
    let localOffset = directory.readUInt32LE(at + 42);
    const end = at + 46 + nameLength + extraLength + commentLength;
    if (end > directory.length) throw new ZipError(`central directory record ${i} runs past the directory`);
    const name = directory.toString('latin1', at + 46, at + 46 + nameLength);
    // zip64: sizes and offset too large for 32 bits are in extra field 0x0001, in this order.
    const extra = directory.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength);
    for (let e = 0; e + 4 <= extra.length; ) {
      const id = extra.readUInt16LE(e);
      const length = extra.readUInt16LE(e + 2);
      if (e + 4 + length > extra.length) break;
      if (id === 0x0001) {
        let f = e + 4;
        const next = (what: string) => {
          if (f + 8 > e + 4 + length) throw new ZipError(`record ${quote(name)}: its zip64 field lacks the ${what}`);
          const v = u64(extra, f, `record ${quote(name)}'s ${what}`);
          f += 8;
          return v;
        };
        if (size === 0xffffffff) size = next('size');
        if (compressedSize === 0xffffffff) compressedSize = next('compressed size');
        if (localOffset === 0xffffffff) localOffset = next('offset');
      }
      e += 4 + length;
    }
    if (flags & 1) throw new ZipError(`record ${quote(name)} is encrypted`);
    if (method !== 0 && method !== 8) throw new ZipError(`record ${quote(name)} is compressed with method ${method}; only stored and deflated records are read`);
    if (method === 0 && compressedSize !== size) throw new ZipError(`record ${quote(name)} is stored, yet its sizes differ (${compressedSize} and ${size} bytes)`);
    if (localOffset + 30 + compressedSize > directoryOffset || localOffset + 30 + compressedSize > fileSize) {
      throw new ZipError(`record ${quote(name)} (${compressedSize} bytes at ${localOffset}) lies outside the archive's data`);
    }
    const folded = name.toLowerCase();
    if (seen.has(folded)) throw new ZipError(`record ${quote(name)} appears twice (names are compared without regard to case)`);
    seen.add(folded);
    all.push({ name, method: method as 0 | 8, crc: directory.readUInt32LE(at + 16), compressedSize, size, localOffset });
    at = end;
  }
  if (all.length === 0) throw new ZipError('the archive holds no records');
  // As libtorch does: the first record's folder is the archive's, and names are looked up in it.
  const slash = all[0]!.name.indexOf('/');
  if (slash < 0) throw new ZipError(`record ${quote(all[0]!.name)} is not in a folder, as torch.save puts every record`);
  const folder = all[0]!.name.slice(0, slash + 1);
  const records = new Map<string, ZipRecord>();
  for (const r of all) if (r.name.startsWith(folder)) records.set(r.name.slice(folder.length), { ...r, name: r.name.slice(folder.length) });
  return { folder: folder.slice(0, -1), records, fileSize };
}

/** One record's bytes, inflated and checked against its CRC; `record.size` must have been checked by the caller. */
export function readZipRecord(fd: number, record: ZipRecord): Uint8Array {
  const local = readAt(fd, record.localOffset, 30);
  if (local.readUInt32LE(0) !== LOCAL) throw new ZipError(`record ${quote(record.name)} has no local header at byte ${record.localOffset}`);
  const dataAt = record.localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  const stored = readAt(fd, dataAt, record.compressedSize);
  let data: Uint8Array = stored;
  if (record.method === 8) {
    try {
      data = inflateRawSync(stored, { maxOutputLength: Math.max(1, record.size) });
    } catch (err) {
      throw new ZipError(`record ${quote(record.name)} does not inflate to the ${record.size} bytes its directory entry claims (${(err as Error).message})`);
    }
  }
  if (data.length !== record.size) throw new ZipError(`record ${quote(record.name)} holds ${data.length} bytes, its directory entry claims ${record.size}`);
  if (crc32(data) !== record.crc) throw new ZipError(`record ${quote(record.name)} fails its CRC check (corrupt)`);
  return data;
}

/** Opens `path`, runs `body` with its descriptor, closes it. */
export function withFile<T>(path: string, body: (fd: number) => T): T {
  const fd = openSync(path, 'r');
  try {
    return body(fd);
  } finally {
    closeSync(fd);
  }
}
