// What a checkpoint's pickle says about each tensor (its storage, offset, sizes and strides),
// checked against the storages' lengths before a byte of them is read. A stride of 0, a view that
// reaches past its storage or holds more elements than it, and many views of the same data, each
// of which would make a few bytes of file into gigabytes of memory, are refused: the tensors mdprop
// builds from a checkpoint hold at most twice the bytes of the storages they come from.
import { quote } from './bounded-text.js';
import { ITEM_BYTES, type DType } from './dtype.js';

export interface StorageRef {
  readonly what: 'storage';
  readonly key: string;
  readonly dtype: DType | null;
  readonly typeName: string;
}

export interface TensorRef {
  readonly what: 'tensor';
  readonly storage: StorageRef;
  readonly offset: number;
  readonly size: readonly number[];
  readonly stride: readonly number[];
}

/** No tensor of a state dict has more dimensions (a 3-D convolution's weight has 5). */
export const MAX_TENSOR_DIMS = 8;

export class LayoutError extends Error {
  override name = 'LayoutError';
}

/** Elements of a tensor of these sizes; Infinity past 2^53. */
export function elementCount(size: readonly number[]): number {
  let n = 1;
  for (const d of size) n *= d;
  return Number.isSafeInteger(n) ? n : Infinity;
}

/** Checks one tensor against the bytes its storage holds; returns its element count. */
function checkOne(name: string, ref: TensorRef, storageBytes: number): number {
  const { storage, size, stride, offset } = ref;
  const label = `tensor ${quote(name)}`;
  if (storage.dtype === null) throw new LayoutError(`${label} is stored as ${quote(storage.typeName)}, which mdprop does not read`);
  const item = ITEM_BYTES[storage.dtype];
  if (storageBytes % item !== 0) throw new LayoutError(`storage data/${quote(storage.key)} has ${storageBytes} bytes, not a whole number of ${storage.dtype} elements`);
  const elements = storageBytes / item;
  if (size.length > MAX_TENSOR_DIMS) throw new LayoutError(`${label} has ${size.length} dimensions; at most ${MAX_TENSOR_DIMS} are read`);
  if (size.length !== stride.length) throw new LayoutError(`${label} has ${size.length} sizes but ${stride.length} strides`);
  const numel = elementCount(size);
  if (numel === 0) return 0;
  if (numel > elements) throw new LayoutError(`${label} [${size.join(', ')}] has ${numel} elements, more than the ${elements} of its storage data/${quote(storage.key)}`);
  let last = offset;
  size.forEach((d, i) => {
    if (d > 1 && stride[i] === 0) throw new LayoutError(`${label} [${size.join(', ')}] has stride 0 in dimension ${i}, repeating its storage's elements; mdprop reads no such layout`);
    last += (d - 1) * stride[i]!;
  });
  if (!(last < elements)) throw new LayoutError(`${label} [${size.join(', ')}] reaches element ${last} of storage data/${quote(storage.key)}, which holds ${elements}`);
  return numel;
}

/** The tensors of a state dict may hold at most this many times the bytes of the storages they use. */
export const MAX_VIEW_MULTIPLE = 2;

/**
 * Checks every tensor against its storage's length (`storageBytes(key)`), and the tensors
 * together against the storages: tied weights and a transposed view beside its original are
 * fine, but all the tensors together may hold at most MAX_VIEW_MULTIPLE times the bytes of the
 * storages they use, so neither the tensors in memory nor a file written from them grows past
 * twice the data that was read.
 */
export function checkLayouts(tensors: readonly (readonly [string, TensorRef])[], storageBytes: (key: string) => number): void {
  const storages = new Set<string>();
  let tensorBytes = 0;
  let totalStorage = 0;
  for (const [name, ref] of tensors) {
    const bytesOfStorage = storageBytes(ref.storage.key);
    const numel = checkOne(name, ref, bytesOfStorage);
    if (!storages.has(ref.storage.key)) {
      storages.add(ref.storage.key);
      totalStorage += bytesOfStorage;
    }
    tensorBytes += numel * ITEM_BYTES[ref.storage.dtype!];
  }
  if (tensorBytes > MAX_VIEW_MULTIPLE * totalStorage) {
    throw new LayoutError(`the tensors hold ${tensorBytes} bytes, more than ${MAX_VIEW_MULTIPLE} times the ${totalStorage} bytes of the storages they are views of (many views of the same data); mdprop reads no such file`);
  }
}
