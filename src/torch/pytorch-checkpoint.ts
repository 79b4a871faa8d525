// Reading PyTorch checkpoints (.pth/.pt) without Python, from files of any origin. torch.save
// (1.6 and later) writes a zip archive: `data.pkl`, the pickled object, with each tensor pickled as
// a reference to a storage record `data/<key>` of raw little-endian bytes. The archive's directory
// is checked first (src/torch/zip-directory.ts), then the pickle is read as data by a reader as
// strict as PyTorch's weights_only loading (src/torch/pickle.ts), then the tensors of the state
// dict are checked against their storages' lengths (src/torch/checkpoint-layout.ts), and only
// then are the storages the state dict uses read, by libtorch's zip reader. The legacy format
// (before 1.6, e.g. the torchvision weights the MDProp authors load) is several pickles in a row
// followed by the storages, each an int64 element count and its bytes. CHECKPOINT_LIMITS bounds
// what a file may ask for; every refusal is a CheckpointError naming the file and the limit.
import { existsSync, readSync, statSync } from 'node:fs';
import { native } from '../native/index.js';
import { boundedMessage, quote, quoteBytes } from './bounded-text.js';
import { checkLayouts, LayoutError, type StorageRef, type TensorRef } from './checkpoint-layout.js';
import { tensor } from './creation.js';
import { dtypeCode, ITEM_BYTES, type DType } from './dtype.js';
import { op } from './dispatch.js';
import { isExtension, isGlobal, isTuple, PICKLE_LIMITS, unpickleAt, PickleError, type PickleGlobal, type PickleLimits, type PickleValue } from './pickle.js';
import { run, Tensor } from './tensor.js';
import { readZipDirectory, readZipRecord, withFile, ZipError, type ZipDirectory, type ZipRecord } from './zip-directory.js';

export class CheckpointError extends Error {
  override name = 'CheckpointError';
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
  }
}

/** What one checkpoint may ask for. */
export const CHECKPOINT_LIMITS = {
  /** Bytes of the pickle: at most this many... */
  pickleBytes: PICKLE_LIMITS.bytes,
  /** ...and at most this many more than the storages hold (a state dict's pickle is a small fraction of its data). */
  pickleOverStorages: 2 ** 20,
  /** Bytes of the storages the state dict uses, together (ResNet-50: about 100 MB). */
  storageBytes: 16 * 2 ** 30,
  /** Inflated bytes per byte of a deflated record (torch.save stores records uncompressed). */
  compressionRatio: 64,
  /** The archive's `version` record, which libtorch's reader reads first. */
  versionBytes: 64,
} as const;

/** torch's storage classes, as pickled in each tensor's storage reference. */
const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
  UntypedStorage: 'uint8',
};

/** The globals a state dict's pickle names; like PyTorch's weights_only allowlist, less what mdprop does not read. */
const STATE_DICT_GLOBALS: ReadonlySet<string> = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  'torch.Size',
  ...Object.keys(STORAGE_DTYPES).flatMap((name) => [`torch.${name}`, `torch.cuda.${name}`]),
]);

/** Keys under which training scripts commonly nest the model's state dict, tried in this order. */
export const STATE_DICT_KEYS = ['state_dict', 'model_state_dict', 'model', 'net', 'network', 'model_state', 'weights', 'params'] as const;

function extension(v: PickleValue): StorageRef | TensorRef | undefined {
  return isExtension(v) ? (v.value as StorageRef | TensorRef) : undefined;
}

const isTensorRef = (v: PickleValue): boolean => extension(v)?.what === 'tensor';

function ints(v: PickleValue | undefined, what: string): number[] {
  const items = v !== undefined && isTuple(v) ? v.items : Array.isArray(v) ? v : null;
  if (!items || !items.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) throw new PickleError(`a tensor's ${what} is not a tuple of integers >= 0`);
  return items as number[];
}

function storageRef(pid: PickleValue): PickleValue {
  // ('storage', <storage class>, key, location, numel[, view]) (the legacy format adds the view)
  if (!isTuple(pid) || pid.items[0] !== 'storage' || pid.items.length < 3) throw new PickleError('a persistent id that is not a storage reference');
  const type = pid.items[1]!;
  const key = pid.items[2];
  if (!isGlobal(type) || (typeof key !== 'string' && typeof key !== 'number')) throw new PickleError('a malformed storage reference');
  if (pid.items[5] !== undefined && pid.items[5] !== null) throw new PickleError(`storage ${quote(String(key))} is a view of another storage, which mdprop does not read; re-save the file with a current torch.save`);
  const ref: StorageRef = { what: 'storage', key: String(key), dtype: STORAGE_DTYPES[type.name] ?? null, typeName: `${type.module}.${type.name}` };
  return { kind: 'extension', value: ref };
}

function rebuild(callee: PickleGlobal, args: readonly PickleValue[]): PickleValue | undefined {
  if (callee.module === 'torch' && callee.name === 'Size') return { kind: 'tuple', items: ints(args[0], 'size') };
  if (callee.module !== 'torch._utils') return undefined;
  switch (callee.name) {
    case '_rebuild_tensor':
    case '_rebuild_tensor_v2': {
      const storage = extension(args[0] ?? null);
      if (storage?.what !== 'storage') throw new PickleError(`${callee.name} without a storage`);
      const offset = args[1];
      if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) throw new PickleError('a tensor with a bad storage offset');
      const ref: TensorRef = { what: 'tensor', storage, offset, size: ints(args[2], 'size'), stride: ints(args[3], 'stride') };
      return { kind: 'extension', value: ref };
    }
    case '_rebuild_parameter':
    case '_rebuild_parameter_with_state':
      // nn.Parameter(data): the data is all a state dict needs.
      return isTensorRef(args[0] ?? null) ? args[0]! : undefined;
    default:
      return undefined;
  }
}

/** A dict key for an error message: strings quoted and cut, other values described. */
function describeKey(k: PickleValue): string {
  if (typeof k === 'string') return quote(k, 80);
  if (typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean') return String(k);
  if (k instanceof Uint8Array) return quoteBytes(k, 8);
  return describe(k);
}

/** Describes a pickled value in a few words, for errors about a checkpoint's layout. */
function describe(v: PickleValue): string {
  if (v === null) return 'None';
  if (typeof v !== 'object') return typeof v;
  if (Array.isArray(v)) return `list of ${v.length}`;
  if (v instanceof Map) return `dict of ${v.size}`;
  if (v instanceof Uint8Array) return 'bytes';
  if (v.kind === 'extension') return (v.value as StorageRef | TensorRef).what;
  if (v.kind === 'tuple') return `tuple of ${v.items.length}`;
  return v.kind;
}

/** A dict is a state dict when it is non-empty, keyed by strings, and holds tensors only. */
function isStateDict(v: PickleValue | undefined): v is Map<PickleValue, PickleValue> {
  if (!(v instanceof Map) || v.size === 0) return false;
  for (const [k, t] of v) if (typeof k !== 'string' || !isTensorRef(t)) return false;
  return true;
}

/** The state dict inside what was saved: the top level itself, under a usual key, or the only tensor dict one level down. */
function findStateDict(path: string, root: PickleValue): { dict: Map<PickleValue, PickleValue>; at: string | null } {
  if (isStateDict(root)) return { dict: root, at: null };
  if (root instanceof Map) {
    for (const key of STATE_DICT_KEYS) {
      const inner = root.get(key);
      if (isStateDict(inner)) return { dict: inner, at: key };
    }
    const candidates = [...root].filter(([k, v]) => typeof k === 'string' && isStateDict(v));
    if (candidates.length === 1) return { dict: candidates[0]![1] as Map<PickleValue, PickleValue>, at: candidates[0]![0] as string };
    const keys = [...root].slice(0, 20).map(([k, v]) => `${describeKey(k)}: ${describe(v)}`);
    const why = candidates.length > 1 ? `several entries hold tensor dicts (${candidates.slice(0, 20).map(([k]) => describeKey(k)).join(', ')}), so which one is the model is unclear` : 'no entry holds a dict of tensors';
    throw new CheckpointError(path, `holds a dict {${keys.join(', ')}${root.size > 20 ? ', ...' : ''}}, and ${why}; save the model's state_dict() alone (torch.save(model.state_dict(), path)) or under "state_dict"`);
  }
  throw new CheckpointError(path, `holds a ${describe(root)}, not a state dict; save the model's state_dict() alone (torch.save(model.state_dict(), path))`);
}

/** A tensor of the state dict as a view of its storage's bytes (a 1-D uint8 tensor): no copy is made for the usual, contiguous layout. */
function buildTensor(ref: TensorRef, bytes: Tensor): Tensor {
  const typed = run(op('view', 'dtype'), bytes, dtypeCode(ref.storage.dtype!));
  try {
    const strided = run(op('as_strided'), typed, ref.size, ref.stride, ref.offset);
    try {
      return strided.contiguous();
    } finally {
      strided.dispose();
    }
  } finally {
    typed.dispose();
  }
}

export interface PytorchCheckpoint {
  /** The state dict's tensors, on the CPU, in the file's order. */
  tensors: Map<string, Tensor>;
  /** The key the state dict was found under (null: the file is the state dict itself). */
  foundAt: string | null;
}

function firstBytes(path: string, n: number): Uint8Array {
  return withFile(path, (fd) => {
    const out = new Uint8Array(n);
    const got = readSync(fd, out, 0, n, 0);
    return out.subarray(0, got);
  });
}

/**
 * torch.save's format from the first four bytes: a zip's local file header, or a pickle (protocol
 * 2-5) opening with the magic number (LONG1) or a frame. Read as a safetensors header length,
 * either would be tens of megabytes or more, so a safetensors file is not mistaken for one.
 */
function formatOf(head: Uint8Array): 'zip' | 'legacy' | null {
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'zip';
  if (head[0] === 0x80 && head[1]! >= 2 && head[1]! <= 5 && (head[2] === 0x8a || head[2] === 0x95)) return 'legacy';
  return null;
}

/** Does the file start as torch.save writes (a zip archive, or the legacy format's pickle)? */
export function isPytorchCheckpoint(path: string): boolean {
  return formatOf(firstBytes(path, 4)) !== null;
}

const pickleOptions = (limits: Partial<PickleLimits> = {}) => ({ globals: STATE_DICT_GLOBALS, persistentLoad: storageRef, reduce: rebuild, limits });

/** The state dict's entries, in the file's order, with each entry's layout checked against its storage's length. */
function stateDictRefs(path: string, root: PickleValue, storageBytes: (key: string) => number | undefined): { refs: [string, TensorRef][]; at: string | null } {
  const { dict, at } = findStateDict(path, root);
  const refs = [...dict].map(([name, value]) => [name as string, extension(value) as TensorRef] as [string, TensorRef]);
  for (const [name, ref] of refs) {
    if (storageBytes(ref.storage.key) === undefined) throw new CheckpointError(path, `tensor ${quote(name)} refers to storage data/${quote(ref.storage.key)}, which the file does not hold`);
  }
  try {
    checkLayouts(refs, (key) => storageBytes(key)!);
  } catch (err) {
    if (err instanceof LayoutError) throw new CheckpointError(path, err.message);
    throw err;
  }
  return { refs, at };
}

/** Total bytes of the storages used, checked against the limit before any is read. */
function checkStorageTotal(path: string, keys: Iterable<string>, bytesOf: (key: string) => number): number {
  let total = 0;
  for (const key of keys) total += bytesOf(key);
  if (total > CHECKPOINT_LIMITS.storageBytes) throw new CheckpointError(path, `the state dict's storages hold ${total} bytes, more than the ${CHECKPOINT_LIMITS.storageBytes} a checkpoint may have`);
  return total;
}

function build(path: string, refs: readonly [string, TensorRef][], at: string | null, storages: Map<string, Tensor>): PytorchCheckpoint {
  const tensors = new Map<string, Tensor>();
  try {
    for (const [name, ref] of refs) tensors.set(name, buildTensor(ref, storages.get(ref.storage.key)!));
    return { tensors, foundAt: at };
  } catch (err) {
    for (const t of tensors.values()) t.dispose();
    throw new CheckpointError(path, `cannot build the tensors: ${boundedMessage(err)}`);
  } finally {
    // The state dict's tensors hold their storages' memory themselves.
    for (const t of storages.values()) t.dispose();
  }
}

function readZip(path: string): PytorchCheckpoint {
  return withFile(path, (fd) => {
    let dir: ZipDirectory;
    try {
      dir = readZipDirectory(fd);
    } catch (err) {
      if (err instanceof ZipError) throw new CheckpointError(path, `cannot be read as a torch.save archive (truncated or corrupt?): ${err.message}`);
      throw err;
    }
    const pickle = dir.records.get('data.pkl');
    if (!pickle) throw new CheckpointError(path, 'the zip archive holds no data.pkl; it is not a torch.save checkpoint');
    const version = dir.records.get('version') ?? dir.records.get('.data/version');
    if (!version) throw new CheckpointError(path, 'the zip archive holds no version record; it is not a torch.save checkpoint');
    if (version.size > CHECKPOINT_LIMITS.versionBytes) throw new CheckpointError(path, `the version record has ${version.size} bytes; at most ${CHECKPOINT_LIMITS.versionBytes} are read`);
    const records = new Map<string, ZipRecord>();
    let storageTotal = 0;
    for (const [name, r] of dir.records) {
      if (!name.startsWith('data/')) continue;
      records.set(name.slice(5), r);
      storageTotal += r.size;
    }
    const pickleLimit = Math.min(CHECKPOINT_LIMITS.pickleBytes, CHECKPOINT_LIMITS.pickleOverStorages + storageTotal);
    if (pickle.size > pickleLimit) {
      throw new CheckpointError(path, `data.pkl has ${pickle.size} bytes, more than the ${pickleLimit} a pickle may have here (at most ${CHECKPOINT_LIMITS.pickleBytes}, and at most ${CHECKPOINT_LIMITS.pickleOverStorages} more than the ${storageTotal} bytes of storages)`);
    }
    checkRatio(path, [pickle]);
    let root: PickleValue;
    try {
      root = unpickleAt(readZipRecord(fd, pickle), 0, pickleOptions({ bytes: pickleLimit })).value;
    } catch (err) {
      if (err instanceof PickleError || err instanceof ZipError) throw new CheckpointError(path, `data.pkl: ${err.message}`);
      throw err;
    }
    const { refs, at } = stateDictRefs(path, root, (key) => records.get(key)?.size);
    const used = [...new Set(refs.map(([, ref]) => ref.storage.key))];
    checkStorageTotal(path, used, (key) => records.get(key)!.size);
    checkRatio(path, used.map((key) => records.get(key)!));
    let handles: ReturnType<typeof native.readTorchZipRecords>;
    try {
      handles = native.readTorchZipRecords(path, used.map((key) => `data/${key}`));
    } catch (err) {
      throw new CheckpointError(path, `cannot be read as a torch.save archive (truncated or corrupt?): ${boundedMessage(err).replace(`${path}: `, '')}`);
    }
    return build(path, refs, at, new Map(used.map((key, i) => [key, new Tensor(handles[i]!)])));
  });
}

/** Deflated records may not inflate to more than CHECKPOINT_LIMITS.compressionRatio times their size. */
function checkRatio(path: string, records: readonly ZipRecord[]): void {
  let inflated = 0;
  let compressed = 0;
  for (const r of records) {
    if (r.method !== 8) continue;
    inflated += r.size;
    compressed += r.compressedSize;
  }
  if (inflated > CHECKPOINT_LIMITS.compressionRatio * compressed + 4096) {
    throw new CheckpointError(path, `deflated records of ${compressed} bytes claim to inflate to ${inflated}, more than ${CHECKPOINT_LIMITS.compressionRatio} times as many (a decompression bomb?)`);
  }
}

/** torch.save's legacy layout: magic number, protocol 1001, system info, the object, the storage keys, then each storage. */
function readLegacy(path: string): PytorchCheckpoint {
  const size = statSync(path).size;
  const maxFile = CHECKPOINT_LIMITS.storageBytes + CHECKPOINT_LIMITS.pickleBytes;
  if (size > maxFile) throw new CheckpointError(path, `has ${size} bytes, more than the ${maxFile} a checkpoint may have`);
  let bytes: Uint8Array;
  try {
    bytes = withFile(path, (fd) => {
      const out = new Uint8Array(size);
      for (let done = 0; done < size; ) {
        const n = readSync(fd, out, done, size - done, done);
        if (n === 0) throw new Error('the file shrank while being read');
        done += n;
      }
      return out;
    });
  } catch (err) {
    throw new CheckpointError(path, `cannot be read: ${boundedMessage(err)}`);
  }
  let pos = 0;
  const next = (what: string, options: ReturnType<typeof pickleOptions> | { limits: Partial<PickleLimits> }): PickleValue => {
    try {
      const { value, end } = unpickleAt(bytes, pos, options);
      pos = end;
      return value;
    } catch (err) {
      if (err instanceof PickleError) throw new CheckpointError(path, `legacy format, ${what}: ${err.message}`);
      throw err;
    }
  };
  const small = { limits: { bytes: 4096 } };
  if (next('magic number', small) !== 0x1950a86a20f9469cfc6cn) throw new CheckpointError(path, 'starts with a pickle but not with torch.save\'s magic number; not a PyTorch checkpoint');
  const protocol = next('protocol', small);
  if (protocol !== 1001) throw new CheckpointError(path, `legacy format version ${typeof protocol === 'string' ? quote(protocol) : describe(protocol)}; only 1001 is known`);
  const info = next('system info', small);
  if (info instanceof Map && info.get('little_endian') === false) throw new CheckpointError(path, 'was written on a big-endian machine, which mdprop does not read');
  // Every storage the pickle refers to, so each listed storage's element size is known.
  const storageRefs = new Map<string, StorageRef>();
  const root = next('object', {
    ...pickleOptions(),
    persistentLoad: (pid: PickleValue) => {
      const made = storageRef(pid);
      const ref = extension(made) as StorageRef;
      storageRefs.set(ref.key, ref);
      return made;
    },
  });
  const keys = next('storage keys', { limits: {} });
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) throw new CheckpointError(path, 'legacy format: the storage keys are not a list of strings');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const spans = new Map<string, [number, number]>();
  for (const key of keys as string[]) {
    if (pos + 8 > bytes.length) throw new CheckpointError(path, `legacy format: the file ends before storage ${quote(key)} (truncated?)`);
    const elements = Number(view.getBigInt64(pos, true));
    pos += 8;
    const ref = storageRefs.get(key);
    if (!ref) throw new CheckpointError(path, `legacy format: storage ${quote(key)} is listed but nothing refers to it`);
    if (ref.dtype === null) throw new CheckpointError(path, `storage ${quote(key)} is a ${quote(ref.typeName)}, which mdprop does not read`);
    const length = elements * ITEM_BYTES[ref.dtype];
    if (!(elements >= 0) || pos + length > bytes.length) throw new CheckpointError(path, `legacy format: storage ${quote(key)} of ${elements} elements runs past the end of the file (truncated?)`);
    spans.set(key, [pos, pos + length]);
    pos += length;
  }
  const { refs, at } = stateDictRefs(path, root, (key) => {
    const span = spans.get(key);
    return span && span[1] - span[0];
  });
  const used = [...new Set(refs.map(([, ref]) => ref.storage.key))];
  checkStorageTotal(path, used, (key) => spans.get(key)![1] - spans.get(key)![0]);
  // Only once the whole file has been checked are the storages the state dict uses copied into tensors.
  return build(path, refs, at, new Map(used.map((key) => [key, tensor(bytes.subarray(spans.get(key)![0], spans.get(key)![1]))])));
}

/**
 * Reads the state dict of a checkpoint written by torch.save (zip or legacy format): the saved
 * object itself, or the state dict nested under a usual key ("state_dict", "model", ...). Throws
 * CheckpointError naming the file for anything else: truncated or corrupt files, whole pickled
 * modules, unknown layouts, and anything beyond CHECKPOINT_LIMITS and PICKLE_LIMITS.
 */
export function readPytorchCheckpoint(path: string): PytorchCheckpoint {
  if (!existsSync(path)) throw new CheckpointError(path, 'file not found');
  try {
    const format = formatOf(firstBytes(path, 4));
    if (format === null) throw new CheckpointError(path, 'is not a PyTorch checkpoint (neither a zip archive nor a pickle as torch.save writes)');
    return format === 'legacy' ? readLegacy(path) : readZip(path);
  } catch (err) {
    // The reader's boundary: whatever went wrong, the caller gets one bounded line naming the file.
    if (err instanceof CheckpointError) throw err;
    throw new CheckpointError(path, `cannot be read: ${boundedMessage(err)}`);
  }
}
