// Reading PyTorch checkpoints (.pth/.pt) without Python. torch.save (1.6 and later) writes a zip
// archive: `data.pkl`, the pickled object, with each tensor pickled as a reference to a storage
// record `data/<key>` of raw little-endian bytes. The addon reads the archive with libtorch's zip
// reader; the pickle is interpreted here as data (src/torch/pickle.ts), and the tensors of the
// state dict are built from their storages' bytes. The legacy format (before 1.6, e.g. the
// torchvision weights the MDProp authors load) is several pickles in a row followed by the
// storages, each an int64 element count and its bytes; it is read here whole.
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { native } from '../native/index.js';
import type { NativeHandle } from '../native/index.js';
import { tensor } from './creation.js';
import { dtypeCode, type DType } from './dtype.js';
import { op } from './dispatch.js';
import { isGlobal, isTuple, unpickle, unpickleAt, PickleError, type PickleGlobal, type PickleValue } from './pickle.js';
import { run, Tensor } from './tensor.js';

export class CheckpointError extends Error {
  override name = 'CheckpointError';
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
  }
}

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
const ITEM_BYTES: Record<DType, number> = { float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1 };

/** Keys under which training scripts commonly nest the model's state dict, tried in this order. */
export const STATE_DICT_KEYS = ['state_dict', 'model_state_dict', 'model', 'net', 'network', 'model_state', 'weights', 'params'] as const;

interface StorageRef {
  readonly what: 'storage';
  readonly key: string;
  readonly dtype: DType | null;
  readonly typeName: string;
}
interface TensorRef {
  readonly what: 'tensor';
  readonly storage: StorageRef;
  readonly offset: number;
  readonly size: readonly number[];
  readonly stride: readonly number[];
}

function extension(v: PickleValue): StorageRef | TensorRef | undefined {
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map) && !(v instanceof Uint8Array) && v.kind === 'extension') {
    return v.value as StorageRef | TensorRef;
  }
  return undefined;
}

const isTensorRef = (v: PickleValue): boolean => extension(v)?.what === 'tensor';

function ints(v: PickleValue | undefined, what: string): number[] {
  const items = v !== undefined && isTuple(v) ? v.items : Array.isArray(v) ? v : null;
  if (!items || !items.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0)) throw new PickleError(`a tensor's ${what} is not a tuple of integers`);
  return items as number[];
}

function storageRef(pid: PickleValue): PickleValue {
  // ('storage', <storage class>, key, location, numel[, view]) (the legacy format adds the view)
  if (!isTuple(pid) || pid.items[0] !== 'storage' || pid.items.length < 3) throw new PickleError('a persistent id that is not a storage reference');
  const type = pid.items[1]!;
  const key = pid.items[2];
  if (!isGlobal(type) || (typeof key !== 'string' && typeof key !== 'number')) throw new PickleError('a malformed storage reference');
  if (pid.items[5] !== undefined && pid.items[5] !== null) throw new PickleError(`storage ${String(key)} is a view of another storage, which mdprop does not read; re-save the file with a current torch.save`);
  const ref: StorageRef = { what: 'storage', key: String(key), dtype: STORAGE_DTYPES[type.name] ?? null, typeName: `${type.module}.${type.name}` };
  return { kind: 'extension', value: ref };
}

function rebuild(callee: PickleGlobal, args: readonly PickleValue[]): PickleValue | undefined {
  if (callee.module !== 'torch._utils') return undefined;
  switch (callee.name) {
    case '_rebuild_tensor':
    case '_rebuild_tensor_v2': {
      const storage = extension(args[0] ?? null);
      if (storage?.what !== 'storage') throw new PickleError(`${callee.name} without a storage`);
      const offset = args[1];
      if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) throw new PickleError('a tensor with a bad storage offset');
      const ref: TensorRef = { what: 'tensor', storage, offset, size: ints(args[2], 'size'), stride: ints(args[3], 'stride') };
      return { kind: 'extension', value: ref };
    }
    case '_rebuild_parameter':
    case '_rebuild_parameter_with_state':
      // nn.Parameter(data): the data is all a state dict needs.
      return args[0] ?? null;
    default:
      return undefined;
  }
}

/** Describes a pickled value in a few words, for errors about a checkpoint's layout. */
function describe(v: PickleValue): string {
  if (v === null) return 'None';
  if (typeof v !== 'object') return typeof v;
  if (Array.isArray(v)) return `list of ${v.length}`;
  if (v instanceof Map) return `dict of ${v.size}`;
  if (v instanceof Uint8Array) return 'bytes';
  if (v.kind === 'extension') return (v.value as StorageRef | TensorRef).what;
  if (v.kind === 'object') return v.type;
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
    const keys = [...root].slice(0, 20).map(([k, v]) => `${JSON.stringify(typeof k === 'bigint' ? String(k) : k)}: ${describe(v)}`);
    const why = candidates.length > 1 ? `several entries hold tensor dicts (${candidates.map(([k]) => String(k)).join(', ')}), so which one is the model is unclear` : 'no entry holds a dict of tensors';
    throw new CheckpointError(path, `holds a dict {${keys.join(', ')}${root.size > 20 ? ', ...' : ''}}, and ${why}; save the model's state_dict() alone (torch.save(model.state_dict(), path)) or under "state_dict"`);
  }
  const type = describe(root);
  const hint = typeof root === 'object' && root !== null && !Array.isArray(root) && !(root instanceof Map) && !(root instanceof Uint8Array) && root.kind === 'object'
    ? ` (a whole pickled module cannot be read without its Python code; save model.state_dict() instead)`
    : '';
  throw new CheckpointError(path, `holds a ${type}, not a state dict${hint}`);
}

/** A tensor of the state dict as a view of its storage's bytes (a 1-D uint8 tensor): no copy is made. */
function buildTensor(path: string, name: string, ref: TensorRef, storages: Map<string, Tensor>): Tensor {
  const { storage, size, stride, offset } = ref;
  if (storage.dtype === null) throw new CheckpointError(path, `tensor '${name}' is stored as ${storage.typeName}, which mdprop does not read`);
  const bytes = storages.get(storage.key);
  if (!bytes) throw new CheckpointError(path, `tensor '${name}' refers to storage data/${storage.key}, which the archive does not hold`);
  const item = ITEM_BYTES[storage.dtype];
  if (bytes.numel % item !== 0) throw new CheckpointError(path, `storage data/${storage.key} has ${bytes.numel} bytes, not a whole number of ${storage.dtype} elements`);
  const elements = bytes.numel / item;
  if (size.length !== stride.length) throw new CheckpointError(path, `tensor '${name}' has ${size.length} sizes but ${stride.length} strides`);
  const numel = size.reduce((a, b) => a * b, 1);
  const last = size.some((d) => d === 0) ? offset : offset + size.reduce((acc, d, i) => acc + (d - 1) * stride[i]!, 0);
  if (numel > 0 && last >= elements) throw new CheckpointError(path, `tensor '${name}' [${size.join(', ')}] reaches element ${last} of storage data/${storage.key}, which holds ${elements}`);
  const typed = run(op('view', 'dtype'), bytes, dtypeCode(storage.dtype));
  try {
    const strided = run(op('as_strided'), typed, size, stride, offset);
    try {
      // A contiguous tensor (the usual case) stays a view; only an unusual layout is copied.
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
  const fd = openSync(path, 'r');
  try {
    const out = new Uint8Array(n);
    const got = readSync(fd, out, 0, n, 0);
    return out.subarray(0, got);
  } finally {
    closeSync(fd);
  }
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

interface Unpacked {
  root: PickleValue;
  /** Each storage's bytes as a 1-D uint8 tensor; the caller disposes them. */
  storages: Map<string, Tensor>;
}

function readZip(path: string): Unpacked {
  let archive: { pickle: ArrayBuffer; storages: [string, NativeHandle][] };
  try {
    archive = native.readTorchZip(path);
  } catch (err) {
    throw new CheckpointError(path, `cannot be read as a torch.save archive (truncated or corrupt?): ${(err as Error).message.replace(`${path}: `, '')}`);
  }
  const storages = new Map(archive.storages.map(([key, handle]) => [key, new Tensor(handle)]));
  try {
    return { root: unpickle(new Uint8Array(archive.pickle), { persistentLoad: storageRef, reduce: rebuild }), storages };
  } catch (err) {
    for (const t of storages.values()) t.dispose();
    if (err instanceof PickleError) throw new CheckpointError(path, `data.pkl: ${err.message}`);
    throw err;
  }
}

/** torch.save's legacy layout: magic number, protocol 1001, system info, the object, the storage keys, then each storage. */
function readLegacy(path: string): Unpacked {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (err) {
    throw new CheckpointError(path, `cannot be read: ${(err as Error).message}`);
  }
  const refs = new Map<string, StorageRef>();
  const hooks = {
    persistentLoad: (pid: PickleValue) => {
      const made = storageRef(pid);
      const ref = extension(made) as StorageRef;
      refs.set(ref.key, ref);
      return made;
    },
    reduce: rebuild,
  };
  let pos = 0;
  const next = (what: string, withHooks = false): PickleValue => {
    try {
      const { value, end } = unpickleAt(bytes, pos, withHooks ? hooks : {});
      pos = end;
      return value;
    } catch (err) {
      if (err instanceof PickleError) throw new CheckpointError(path, `legacy format, ${what}: ${err.message}`);
      throw err;
    }
  };
  if (next('magic number') !== 0x1950a86a20f9469cfc6cn) throw new CheckpointError(path, 'starts with a pickle but not with torch.save\'s magic number; not a PyTorch checkpoint');
  const protocol = next('protocol');
  if (protocol !== 1001) throw new CheckpointError(path, `legacy format version ${String(protocol)}; only 1001 is known`);
  const info = next('system info');
  if (info instanceof Map && info.get('little_endian') === false) throw new CheckpointError(path, 'was written on a big-endian machine, which mdprop does not read');
  const root = next('object', true);
  const keys = next('storage keys');
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) throw new CheckpointError(path, 'legacy format: the storage keys are not a list of strings');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const spans = new Map<string, [number, number]>();
  for (const key of keys as string[]) {
    const ref = refs.get(key);
    if (!ref) throw new CheckpointError(path, `legacy format: storage ${key} is listed but no tensor refers to it`);
    if (pos + 8 > bytes.length) throw new CheckpointError(path, `legacy format: the file ends before storage ${key} (truncated?)`);
    const elements = Number(view.getBigInt64(pos, true));
    if (ref.dtype === null) throw new CheckpointError(path, `storage ${key} is a ${ref.typeName}, which mdprop does not read`);
    const length = elements * ITEM_BYTES[ref.dtype];
    pos += 8;
    if (!(elements >= 0) || pos + length > bytes.length) throw new CheckpointError(path, `legacy format: storage ${key} of ${elements} elements runs past the end of the file (truncated?)`);
    spans.set(key, [pos, pos + length]);
    pos += length;
  }
  // Only once the whole file has been checked are the storages copied into tensors.
  return { root, storages: new Map([...spans].map(([key, [from, to]]) => [key, tensor(bytes.subarray(from, to))])) };
}

/**
 * Reads the state dict of a checkpoint written by torch.save (zip or legacy format): the saved
 * object itself, or the state dict nested under a usual key ("state_dict", "model", ...). Throws
 * CheckpointError naming the file for anything else: truncated or corrupt files, whole pickled
 * modules, unknown layouts.
 */
export function readPytorchCheckpoint(path: string): PytorchCheckpoint {
  if (!existsSync(path)) throw new CheckpointError(path, 'file not found');
  const format = formatOf(firstBytes(path, 4));
  if (format === null) throw new CheckpointError(path, 'is not a PyTorch checkpoint (neither a zip archive nor a pickle as torch.save writes)');
  const { root, storages } = format === 'legacy' ? readLegacy(path) : readZip(path);
  const tensors = new Map<string, Tensor>();
  try {
    const { dict, at } = findStateDict(path, root);
    for (const [name, value] of dict) tensors.set(name as string, buildTensor(path, name as string, extension(value) as TensorRef, storages));
    return { tensors, foundAt: at };
  } catch (err) {
    for (const t of tensors.values()) t.dispose();
    throw err;
  } finally {
    // The state dict's tensors hold their storages' memory themselves.
    for (const t of storages.values()) t.dispose();
  }
}
