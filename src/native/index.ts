// Loads the compiled addon and states its interface. Handles are opaque: only this layer and
// src/torch touch them.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** An opaque owner of one native tensor. */
export interface NativeHandle {
  readonly __nativeTensor: unique symbol;
}

export type NativeValue = NativeHandle | number | boolean | string | null | NativeValue[];

export interface NativeAddon {
  opHandle(name: string, overload: string): number;
  opSchema(id: number): string;
  callOp(id: number, args: readonly unknown[]): NativeValue;

  fromBuffer(data: ArrayBufferView, shape: readonly number[], dtypeCode: number, device?: string): NativeHandle;
  toBuffer(h: NativeHandle): ArrayBuffer;
  /** Writes the tensor's bytes (CPU, row-major) to an open file descriptor, with no JS copy. */
  writeTensorBytes(h: NativeHandle, fd: number): void;
  shape(h: NativeHandle): number[];
  dtype(h: NativeHandle): number;
  device(h: NativeHandle): string;
  isContiguous(h: NativeHandle, memoryFormat: number): boolean;
  /** Whether new handles report their bytes to V8 at once (off inside tidy scopes). */
  setMemoryAccounting(on: boolean): void;
  /** Report a handle's bytes to V8 if they were not reported when it was made. */
  accountMemory(h: NativeHandle): void;
  /** Bytes reported to V8 as external memory so far. */
  reportedMemory(): number;
  item(h: NativeHandle): number | boolean;
  dispose(h: NativeHandle): void;
  isDisposed(h: NativeHandle): boolean;
  sameTensor(a: NativeHandle, b: NativeHandle): boolean;

  requiresGrad(h: NativeHandle): boolean;
  setRequiresGrad(h: NativeHandle, flag: boolean): void;
  isLeaf(h: NativeHandle): boolean;
  /** The version counter, raised by every in-place change of the tensor's data. */
  version(h: NativeHandle): number;
  grad(h: NativeHandle): NativeHandle | null;
  setGrad(h: NativeHandle, g: NativeHandle | null): void;
  backward(h: NativeHandle, grad: NativeHandle | null, retainGraph: boolean): void;
  autogradGrad(
    outputs: NativeHandle[],
    inputs: NativeHandle[],
    gradOutputs: NativeHandle[] | null,
    retainGraph: boolean,
    createGraph: boolean,
    allowUnused: boolean,
  ): (NativeHandle | null)[];
  isGradEnabled(): boolean;
  setGradEnabled(flag: boolean): void;

  manualSeed(seed: number): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  liveTensors(): number;
  cudaAvailable(): boolean;
  cudaDeviceCount(): number;
  cudaSynchronize(): void;
  readonly torchVersion: string;
  /** The cache of large CPU buffers (null when MDPROP_CPU_CACHE=0 turned it off). */
  cpuCacheStats(): { cachedBytes: number; mappedBytes: number; peakInUseBytes: number; hits: number; misses: number } | null;
  releaseCpuCache(): void;
  profilerStart(): void;
  profilerStop(): { name: string; calls: number; totalUs: number; selfUs: number }[];

  /** Records of a torch.save zip archive (names relative to its folder, e.g. `data/0`), each as a 1-D uint8 tensor, read by libtorch's reader. */
  readTorchZipRecords(path: string, names: readonly string[]): NativeHandle[];

  c10dInit(backend: string, rank: number, worldSize: number, masterAddr: string, masterPort: number, timeoutMs: number): NativeProcessGroup;
  c10dAllReduce(group: NativeProcessGroup, tensors: NativeHandle[], op: string): void;
  c10dBroadcast(group: NativeProcessGroup, tensors: NativeHandle[], root: number): void;
  c10dAllGather(group: NativeProcessGroup, tensor: NativeHandle): NativeHandle[];
  c10dBarrier(group: NativeProcessGroup): void;
  c10dDestroy(group: NativeProcessGroup): void;
  /** The c10d backends this build of the addon has ('gloo', and 'nccl' with a CUDA libtorch built with it). */
  c10dBackends(): string[];
  /** Whether c10d's Reducer is in this build (libtorch 1.x). */
  c10dHasReducer(): boolean;
  /** c10d's Reducer (DDP's) over `params`; `buckets` is how many it made. */
  c10dReducerCreate(group: NativeProcessGroup, params: NativeHandle[], bucketBytes: number): { handle: NativeReducer; buckets: number };
  c10dReducerPrepare(reducer: NativeReducer, outputs: NativeHandle[]): void;
  /** Training-mode batch norm with the statistics of all ranks' rows; differentiable (its backward all-reduces too). */
  c10dSyncBatchNorm(
    group: NativeProcessGroup,
    input: NativeHandle,
    weight: NativeHandle | null,
    bias: NativeHandle | null,
    runningMean: NativeHandle | null,
    runningVar: NativeHandle | null,
    momentum: number,
    eps: number,
  ): NativeHandle;
}

/** An opaque c10d Reducer. */
export interface NativeReducer {
  readonly __nativeReducer: unique symbol;
}

/** An opaque c10d process group (store and backend). */
export interface NativeProcessGroup {
  readonly __nativeProcessGroup: unique symbol;
}

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('mdprop: cannot find the package root above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

function load(): NativeAddon {
  const root = packageRoot();
  const path = process.env.MDPROP_ADDON ?? join(root, 'build/Release/mdprop.node');
  if (!existsSync(path)) {
    throw new Error(`mdprop: the native addon is not built (${path} is missing); run \`npm install\` or \`npm run build:native\` in ${root}`);
  }
  return createRequire(import.meta.url)(path) as NativeAddon;
}

export const native: NativeAddon = load();
