// Seeded mutations of real files for the fuzz test: truncations and bit flips of any file, and
// structured edits that get past checksums and parsers to the checks behind them: in a torch.save
// archive, edits of data.pkl (integers such as sizes, strides and offsets; inserted bytes; floods of
// one-byte opcodes; long integers) re-zipped with correct CRCs, lying record sizes and resized
// storages; in a safetensors model, edits of its JSON header (shapes, offsets, dtypes, metadata,
// long names) and of its length prefix.
import { closeSync, openSync } from 'node:fs';
import { readZipDirectory, readZipRecord } from '../../src/torch/zip-directory.js';
import { bytes, torchZip, type ZipRecord } from '../helpers/crafted-torch.js';

/** mulberry32: a small seeded generator, so a failing case can be replayed from its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

export interface Mutant {
  /** What was done, for a failure message. */
  what: string;
  data: Uint8Array;
}

type Random = () => number;
const below = (r: Random, n: number) => Math.floor(r() * n);
const pick = <T>(r: Random, items: readonly T[]): T => items[below(r, items.length)]!;

export function truncate(r: Random, data: Uint8Array): Mutant {
  const at = below(r, data.length);
  return { what: `truncated to ${at} bytes`, data: data.subarray(0, at) };
}

export function flipBits(r: Random, data: Uint8Array, from = 0): Mutant {
  const out = Uint8Array.from(data);
  const n = 1 + below(r, 8);
  const at: number[] = [];
  for (let i = 0; i < n; i++) {
    const byte = from + below(r, out.length - from);
    out[byte]! ^= 1 << below(r, 8);
    at.push(byte);
  }
  return { what: `bits flipped at bytes ${at.join(', ')}`, data: out };
}

/** Values that probe bounds: zero, one, negative, the largest int32, a size far past any storage, random. */
function interesting(r: Random): number {
  return pick(r, [0, 1, 2, -1, -(2 ** 31), 2 ** 31 - 1, 65535, 1 << 20, below(r, 1 << 16), below(r, 2 ** 31)]);
}

/** Replaces the argument of a random BININT / BININT1 / BININT2 opcode (sizes, strides, offsets, numels). */
export function editInteger(r: Random, pickle: Uint8Array): Mutant | null {
  const spots: number[] = [];
  for (let i = 0; i < pickle.length; i++) if (pickle[i] === 0x4a || pickle[i] === 0x4b || pickle[i] === 0x4d) spots.push(i);
  if (spots.length === 0) return null;
  const at = pick(r, spots);
  const out = Uint8Array.from(pickle);
  const view = new DataView(out.buffer);
  const value = interesting(r);
  if (out[at] === 0x4a && at + 5 <= out.length) view.setInt32(at + 1, value, true);
  else if (out[at] === 0x4b && at + 2 <= out.length) out[at + 1] = value & 0xff;
  else if (at + 3 <= out.length) view.setUint16(at + 1, value & 0xffff, true);
  return { what: `integer opcode at ${at} set to ${value}`, data: out };
}

const FLOOD_UNITS: readonly Uint8Array[] = [
  bytes(0x5d), // EMPTY_LIST
  bytes(0x5d, 0x30), // EMPTY_LIST POP
  bytes(0x28), // MARK
  bytes(0x29), // EMPTY_TUPLE
  bytes(0x7d), // EMPTY_DICT
  bytes(0x4e), // NONE
  bytes(0x29, 0x85), // ((),)
  bytes(0x32), // DUP
  bytes(0x5d, 0x71, 0x00), // EMPTY_LIST BINPUT 0
  bytes(0x68, 0x00), // BINGET 0
  bytes(0x4e, 0x61), // NONE APPEND
  bytes(0x28, 0x4e, 0x6c), // [None]
  bytes(0x94), // MEMOIZE
];

/** Inserts `count` copies of a short opcode sequence at a random place (or just after PROTO). */
export function flood(r: Random, pickle: Uint8Array): Mutant {
  const unit = pick(r, FLOOD_UNITS);
  const count = pick(r, [1, 10, 1000, 100_000, 1_000_000, 2_000_000]);
  const at = r() < 0.5 ? 2 : below(r, pickle.length);
  const out = new Uint8Array(pickle.length + unit.length * count);
  out.set(pickle.subarray(0, at));
  for (let i = 0; i < count; i++) out.set(unit, at + i * unit.length);
  out.set(pickle.subarray(at), at + unit.length * count);
  return { what: `${count} x [${[...unit].map((b) => b.toString(16)).join(' ')}] inserted at ${at}`, data: out };
}

/** Inserts a LONG1/LONG4 integer, or a string or byte string claiming a length. */
export function insertLong(r: Random, pickle: Uint8Array): Mutant {
  const n = pick(r, [8, 64, 65, 255, 4096, 1 << 20]);
  const le = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
  const kind = below(r, 3);
  const body = kind === 0 ? bytes(0x8b, ...le(n), new Uint8Array(n).fill(0x7f), 0x30) : kind === 1 ? bytes(0x58, ...le(n * 4096), 0x30) : bytes(0x42, ...le(n), new Uint8Array(Math.min(n, 4096)), 0x30);
  const at = 2 + below(r, pickle.length - 2);
  const out = new Uint8Array(pickle.length + body.length);
  out.set(pickle.subarray(0, at));
  out.set(body, at);
  out.set(pickle.subarray(at), at + body.length);
  return { what: `${['LONG4', 'BINUNICODE', 'BINBYTES'][kind]} of ${n} at ${at}`, data: out };
}

export function insertBytes(r: Random, data: Uint8Array): Mutant {
  const at = below(r, data.length);
  const n = 1 + below(r, 16);
  const extra = Uint8Array.from({ length: n }, () => below(r, 256));
  const out = new Uint8Array(data.length + n);
  out.set(data.subarray(0, at));
  out.set(extra, at);
  out.set(data.subarray(at), at + n);
  return { what: `${n} random bytes inserted at ${at}`, data: out };
}

/** The records of a torch.save archive (names within its folder) and its folder name. */
export function unzipCheckpoint(path: string): { folder: string; records: { name: string; data: Uint8Array }[] } {
  const fd = openSync(path, 'r');
  try {
    const dir = readZipDirectory(fd);
    return { folder: dir.folder, records: [...dir.records.values()].map((r) => ({ name: r.name, data: readZipRecord(fd, r) })) };
  } finally {
    closeSync(fd);
  }
}

/** One mutation of a torch.save archive given as its records. */
export function mutateArchive(r: Random, file: Uint8Array, folder: string, records: readonly { name: string; data: Uint8Array }[]): Mutant {
  const kind = below(r, 8);
  if (kind === 0) return truncate(r, file);
  if (kind === 1) return flipBits(r, file);
  const deflate = r() < 0.5;
  const rezip = (what: string, edit: (records: ZipRecord[]) => void): Mutant => {
    const copy: ZipRecord[] = records.map((x) => ({ ...x, deflate }));
    edit(copy);
    return { what: `${what}${deflate ? ', deflated' : ''}`, data: torchZip(copy, folder) };
  };
  const pickleAt = records.findIndex((x) => x.name === 'data.pkl');
  const withPickle = (m: Mutant | null): Mutant => (m === null ? truncate(r, file) : rezip(`data.pkl: ${m.what}`, (c) => (c[pickleAt] = { ...c[pickleAt]!, data: m.data })));
  const pickle = records[pickleAt]!.data;
  switch (kind) {
    case 2:
    case 3:
      return withPickle(editInteger(r, pickle));
    case 4:
      return withPickle(flood(r, pickle));
    case 5:
      return withPickle(r() < 0.5 ? insertLong(r, pickle) : insertBytes(r, pickle));
    case 6: {
      const target = below(r, records.length);
      const claimed = pick(r, [0, 1, 0xfffffff0, below(r, 1 << 30)]);
      return rezip(`record ${records[target]!.name} claims ${claimed} bytes`, (c) => (c[target] = { ...c[target]!, claimedSize: claimed }));
    }
    default: {
      const storages = records.map((x, i) => [x, i] as const).filter(([x]) => x.name.startsWith('data/'));
      const [storage, i] = pick(r, storages);
      const length = pick(r, [0, 1, Math.max(0, storage.data.length - 4), storage.data.length * 4, 1 << 24]);
      const data = new Uint8Array(length);
      data.set(storage.data.subarray(0, Math.min(length, storage.data.length)));
      return rezip(`storage ${storage.name} resized to ${length} bytes`, (c) => (c[i] = { ...c[i]!, data }));
    }
  }
}

/** One mutation of a legacy-format checkpoint (no checksum: edits go in directly). */
export function mutateLegacy(r: Random, file: Uint8Array): Mutant {
  switch (below(r, 5)) {
    case 0:
      return truncate(r, file);
    case 1:
      return flipBits(r, file);
    case 2:
      return editInteger(r, file) ?? truncate(r, file);
    case 3:
      return insertBytes(r, file);
    default: {
      // A flood inserted into the pickle of the object: after the first three (small) pickles.
      const m = flood(r, file.subarray(0));
      return { what: m.what, data: m.data };
    }
  }
}

/** One mutation of a safetensors model file. */
export function mutateSafetensors(r: Random, file: Uint8Array): Mutant {
  const length = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(Buffer.from(file.subarray(8, 8 + length)).toString('utf8')) as Record<string, Record<string, unknown>>;
  const body = file.subarray(8 + length);
  const rebuild = (what: string, h: unknown, data: Uint8Array = body, claimed?: bigint): Mutant => {
    const json = Buffer.from(JSON.stringify(h));
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(claimed ?? BigInt(json.length));
    return { what, data: Buffer.concat([prefix, json, data]) };
  };
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = pick(r, names);
  const entry = { ...header[name]! };
  switch (below(r, 9)) {
    case 0:
      return truncate(r, file);
    case 1:
      return flipBits(r, file);
    case 2:
      return flipBits(r, file, 8 + length); // the data only: weights change, or become NaN
    case 3: {
      const shape = entry.shape as number[];
      const edited = shape.length === 0 ? [interesting(r)] : shape.map((d) => (r() < 0.5 ? d : Math.abs(interesting(r))));
      return rebuild(`${name}: shape ${JSON.stringify(shape)} -> ${JSON.stringify(edited)}`, { ...header, [name]: { ...entry, shape: edited } });
    }
    case 4: {
      const [begin, end] = entry.data_offsets as [number, number];
      const shift = pick(r, [-4, 4, 1, -1, 1 << 30, -begin]);
      return rebuild(`${name}: data_offsets shifted by ${shift}`, { ...header, [name]: { ...entry, data_offsets: [begin + shift, end + shift] } });
    }
    case 5: {
      const dtype = pick(r, ['F64', 'F16', 'I64', 'U8', 'BOOL', 'X9', '', 7]);
      return rebuild(`${name}: dtype ${String(dtype)}`, { ...header, [name]: { ...entry, dtype } });
    }
    case 6: {
      const meta = { ...(header.__metadata__ ?? {}) } as Record<string, string>;
      const key = pick(r, ['image_size', 'test_resize', 'embed_dim', 'in_channels', 'arch', 'format', 'epoch']);
      meta[key] = pick(r, ['8192', '0', '-1', '1e9', '99999999999999999999', 'resnet50', 'x'.repeat(1000), '']);
      return rebuild(`metadata ${key} = ${meta[key]!.slice(0, 20)}`, { ...header, __metadata__: meta });
    }
    case 7: {
      const long = `${name}${'\u0000'.repeat(below(r, 4) === 0 ? 1 << 20 : 300)}`;
      const { [name]: moved, ...rest } = header;
      return rebuild(`${name} renamed to a name of ${long.length} characters`, { ...rest, [long]: moved });
    }
    default: {
      const claimed = pick(r, [0n, 1n, BigInt(length) + 1n, 1n << 40n, (1n << 64n) - 1n]);
      return rebuild(`header length claimed ${claimed}`, header, body, claimed);
    }
  }
}
