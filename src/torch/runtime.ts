// Process-wide engine settings: seeding, threads, devices, accounting.
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
