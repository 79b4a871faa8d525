// What a checkpoint's pickle says about each tensor (its storage, offset, sizes and strides),
// checked against the storages' lengths before a byte of them is read. The tensors mdprop builds
// from a checkpoint never hold more elements than the storages they come from: a stride of 0, a
// view that reaches past its storage, views that overlap or repeat a storage many times over, each
// of which would make a few bytes of file into gigabytes of memory, are refused.
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

/**
 * Checks every tensor against its storage's length (`storageBytes(key)`), and the tensors
 * together against the storages: the distinct layouts may hold at most as many bytes as the
 * storages they use (views may share a storage, not multiply it), and names that repeat another
 * name's exact layout (tied weights) at most as many again.
 */
export function checkLayouts(tensors: readonly (readonly [string, TensorRef])[], storageBytes: (key: string) => number): void {
  const distinct = new Set<string>();
  const storages = new Set<string>();
  let viewBytes = 0;
  let aliasBytes = 0;
  let totalStorage = 0;
  for (const [name, ref] of tensors) {
    const bytesOfStorage = storageBytes(ref.storage.key);
    const numel = checkOne(name, ref, bytesOfStorage);
    if (!storages.has(ref.storage.key)) {
      storages.add(ref.storage.key);
      totalStorage += bytesOfStorage;
    }
    const bytes = numel * ITEM_BYTES[ref.storage.dtype!];
    const layout = `${ref.storage.key}\u0000${ref.storage.dtype}\u0000${ref.offset}\u0000${ref.size.join(',')}\u0000${ref.stride.join(',')}`;
    if (distinct.has(layout)) aliasBytes += bytes;
    else {
      distinct.add(layout);
      viewBytes += bytes;
    }
  }
  if (viewBytes > totalStorage) throw new LayoutError(`the tensors' layouts cover ${viewBytes} bytes, more than the ${totalStorage} bytes of the storages they use (overlapping views); mdprop reads no such file`);
  if (aliasBytes > totalStorage) throw new LayoutError(`names that repeat another tensor's layout add ${aliasBytes} bytes, more than the ${totalStorage} bytes of the storages; mdprop reads no such file`);
}
