// Writers of PyTorch checkpoints byte by byte, for tests that need files torch.save would never
// write: pickle opcodes assembled by hand and a zip archive laid out as torch.save lays it out
// (`archive/data.pkl`, `archive/data/<key>`, `archive/version`), each record stored or deflated.
import { writeFileSync } from 'node:fs';
import { crc32, deflateRawSync } from 'node:zlib';

/** Opcode bytes and their arguments; strings are written as latin1. */
export function bytes(...parts: (number | string | Uint8Array)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') out.push(...Buffer.from(p, 'latin1'));
    else for (const b of p) out.push(b);
  }
  return Uint8Array.from(out);
}

const le32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return b;
};

/** BINUNICODE: a UTF-8 string. */
export function str(s: string): Uint8Array {
  const utf8 = Buffer.from(s, 'utf8');
  return bytes(0x58, le32(utf8.length), utf8);
}

/** BININT: a 32-bit integer. */
export const int = (n: number) => bytes(0x4a, le32(n));

/** GLOBAL module.name */
export const global = (module: string, name: string) => bytes(0x63, `${module}\n${name}\n`);

/** A tuple of integers (MARK ... TUPLE). */
export const intTuple = (values: readonly number[]) => bytes(0x28, ...values.map(int), 0x74);

export interface CraftedTensor {
  name: string;
  /** The storage record's key (`data/<key>`). */
  key: string;
  storage?: string;
  /** Elements the storage reference claims (torch.save writes the storage's length). */
  numel: number;
  offset: number;
  size: readonly number[];
  stride: readonly number[];
}

/** A tensor as torch.save pickles it: _rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict()). */
export function tensorPickle(t: CraftedTensor): Uint8Array {
  const storageRef = bytes(0x28, str('storage'), global('torch', t.storage ?? 'FloatStorage'), str(t.key), str('cpu'), int(t.numel), 0x74, 0x51);
  return bytes(
    global('torch._utils', '_rebuild_tensor_v2'),
    0x28, storageRef, int(t.offset), intTuple(t.size), intTuple(t.stride), 0x89, global('collections', 'OrderedDict'), 0x29, 0x52, 0x74,
    0x52,
  );
}

/** A whole pickle (protocol 2): an OrderedDict of the tensors; `before` goes in front of it on the stack and is popped. */
export function stateDictPickle(tensors: readonly CraftedTensor[], before: Uint8Array = new Uint8Array()): Uint8Array {
  return bytes(0x80, 2, before, global('collections', 'OrderedDict'), 0x29, 0x52, 0x28, ...tensors.flatMap((t) => [str(t.name), tensorPickle(t)]), 0x75, 0x2e);
}

export interface ZipRecord {
  /** Name inside the archive folder, e.g. `data.pkl` or `data/0`. */
  name: string;
  data: Uint8Array;
  /** Deflate the record (torch.save stores; any zip tool may deflate). */
  deflate?: boolean;
  /** Write this uncompressed size in the headers instead of the true one. */
  claimedSize?: number;
}

/** A zip archive of `records` under the folder `archive/`, with a `version` record unless one is given. */
export function torchZip(records: readonly ZipRecord[], archive = 'archive'): Buffer {
  const all = records.some((r) => r.name === 'version') ? records : [...records, { name: 'version', data: bytes('3\n') }];
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const r of all) {
    const name = Buffer.from(`${archive}/${r.name}`, 'utf8');
    const body = r.deflate ? deflateRawSync(r.data, { level: 9 }) : Buffer.from(r.data);
    const crc = crc32(r.data);
    const size = r.claimedSize ?? r.data.length;
    const method = r.deflate ? 8 : 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, body);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(20, 4);
    entry.writeUInt16LE(20, 6);
    entry.writeUInt16LE(method, 10);
    entry.writeUInt32LE(crc, 16);
    entry.writeUInt32LE(body.length, 20);
    entry.writeUInt32LE(size, 24);
    entry.writeUInt16LE(name.length, 28);
    entry.writeUInt32LE(offset, 42);
    central.push(entry, name);
    offset += 30 + name.length + body.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(all.length, 8);
  end.writeUInt16LE(all.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** Float32 values as little-endian bytes. */
export function floats(values: readonly number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

/** Writes a checkpoint of `tensors` over `storages` (key -> bytes); returns the path. */
export function writeCraftedCheckpoint(path: string, tensors: readonly CraftedTensor[], storages: Record<string, Uint8Array>, options: { deflate?: boolean; pickle?: Uint8Array } = {}): string {
  const pickle = options.pickle ?? stateDictPickle(tensors);
  writeFileSync(path, torchZip([{ name: 'data.pkl', data: pickle, deflate: options.deflate }, ...Object.entries(storages).map(([key, data]) => ({ name: `data/${key}`, data, deflate: options.deflate }))]));
  return path;
}
