// How much memory this process may still take: the kernel's estimate of available memory
// (MemAvailable, which counts reclaimable caches, unlike os.freemem), lowered to what a cgroup
// limit leaves (v2: memory.max - memory.current; v1: memory.limit_in_bytes - memory.usage_in_bytes).
import { readFileSync } from 'node:fs';
import { freemem } from 'node:os';

function readNumber(path: string): number | null {
  try {
    const text = readFileSync(path, 'utf8').trim();
    const n = Number(text);
    return text !== 'max' && Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

function memAvailable(): number | null {
  try {
    const match = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export interface AvailableMemory {
  bytes: number;
  /** Where the figure came from. */
  source: 'cgroup' | 'MemAvailable' | 'freemem';
}

/** Bytes this process may still allocate before the machine or its cgroup runs out. */
export function availableMemory(): AvailableMemory {
  const machine = memAvailable();
  let best: AvailableMemory = machine === null ? { bytes: freemem(), source: 'freemem' } : { bytes: machine, source: 'MemAvailable' };
  const limits: [string, string][] = [
    ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory.current'],
    ['/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/memory/memory.usage_in_bytes'],
  ];
  for (const [limitFile, usageFile] of limits) {
    const limit = readNumber(limitFile);
    const usage = readNumber(usageFile);
    // cgroup v1 writes "no limit" as a number near 2^63.
    if (limit === null || usage === null || limit >= 2 ** 60) continue;
    const left = Math.max(0, limit - usage);
    if (left < best.bytes) best = { bytes: left, source: 'cgroup' };
  }
  return best;
}
