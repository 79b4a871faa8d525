// Process-wide engine settings: seeding, threads, devices, accounting.
import { readFileSync } from 'node:fs';
import { native } from '../native/index.js';

/** Seed libtorch's generators (CPU and every CUDA device). */
export function manualSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0) throw new RangeError(`manualSeed: a non-negative integer is required, got ${seed}`);
  native.manualSeed(seed);
}

export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: a positive integer is required, got ${n}`);
  native.setNumThreads(n);
}

export const getNumThreads = (): number => native.getNumThreads();

/** Native tensors currently alive (owned by a JS object that was not disposed or collected). */
export const liveTensors = (): number => native.liveTensors();

export const torchVersion: string = native.torchVersion;

let flags: ReadonlySet<string> | null = null;

/**
 * The CPU's feature flags as Linux reports them (`amx_bf16`, `avx512_bf16`, ...); empty where
 * /proc/cpuinfo cannot be read. For choices measured on some CPUs and not others.
 */
export function cpuFlags(): ReadonlySet<string> {
  if (flags === null) {
    let line: string | undefined;
    try {
      line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    } catch {
      line = undefined;
    }
    flags = new Set(line?.split(':')[1]?.trim().split(/\s+/) ?? []);
  }
  return flags;
}

/** The cache of large CPU buffers (native/cpu_allocator.cc): what it holds and how often it served. */
export interface CpuCacheStats {
  /** Bytes of freed buffers kept for reuse. */
  cachedBytes: number;
  /** Bytes mapped by the cache: kept plus in use. */
  mappedBytes: number;
  /** The most bytes of large buffers ever in use at once (cachedBytes stays within twice this). */
  peakInUseBytes: number;
  /** Large allocations served from the cache, and those that mapped new memory. */
  hits: number;
  misses: number;
}

export const cpuCache = {
  /** null when the process started with MDPROP_CPU_CACHE=0. */
  stats: (): CpuCacheStats | null => native.cpuCacheStats(),
  /** Unmap every kept buffer (buffers in use stay), e.g. between phases with different shapes. */
  release: (): void => native.releaseCpuCache(),
};

/** One aten operator's share of a profiled stretch of work. */
export interface OpTime {
  name: string;
  calls: number;
  /** Time inside the op, including the ops it called, in ms. */
  totalMs: number;
  /** Time inside the op less the ops it called, in ms. */
  selfMs: number;
}

/**
 * Runs fn under libtorch's operator profiler and returns its result with every op's time, the
 * largest self time first (the table PyTorch's profiler prints for the same work).
 */
export function profileOps<T>(fn: () => T): { result: T; ops: OpTime[] } {
  native.profilerStart();
  let result: T;
  try {
    result = fn();
  } catch (error) {
    native.profilerStop();
    throw error;
  }
  const ops = native.profilerStop().map((r) => ({ name: r.name, calls: r.calls, totalMs: r.totalUs / 1000, selfMs: r.selfUs / 1000 }));
  return { result, ops: ops.sort((a, b) => b.selfMs - a.selfMs) };
}

export const cuda = {
  isAvailable: (): boolean => native.cudaAvailable(),
  deviceCount: (): number => native.cudaDeviceCount(),
  /** Wait for queued device work (for timing). */
  synchronize: (): void => native.cudaSynchronize(),
};

/** 'cuda' when asked for and present; throws a clear error when asked for and absent. */
export function resolveDevice(requested: string | undefined): string {
  const device = requested ?? 'cpu';
  if (device.startsWith('cuda') && !native.cudaAvailable()) {
    throw new Error(`device '${device}' requested, but the linked libtorch (${native.torchVersion}) has no usable CUDA`);
  }
  if (device !== 'cpu' && !device.startsWith('cuda')) throw new Error(`unknown device '${device}'; use 'cpu' or 'cuda[:N]'`);
  return device;
}
