// The launch environment of torchrun, Slurm or Kubernetes jobs: RANK, WORLD_SIZE, LOCAL_RANK,
// MASTER_ADDR, MASTER_PORT. A process with WORLD_SIZE above 1 is one worker of a data-parallel run.
export interface WorkerPlace {
  rank: number;
  worldSize: number;
  /** Index of this worker on its machine: its GPU with --device cuda. */
  localRank: number;
  masterAddr: string;
  masterPort: number;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The place this process has in a multi-process run, or null when it runs alone (no WORLD_SIZE, or 1). */
export function workerPlace(env: Env = process.env): WorkerPlace | null {
  if (env.WORLD_SIZE === undefined || env.WORLD_SIZE.trim() === '1') return null;
  const worldSize = integer(env, 'WORLD_SIZE', 1);
  const rank = integer(env, 'RANK', 0);
  if (rank >= worldSize) throw new RangeError(`environment variable RANK=${rank} must be below WORLD_SIZE=${worldSize}`);
  const localRank = env.LOCAL_RANK === undefined ? rank : integer(env, 'LOCAL_RANK', 0);
  const masterAddr = env.MASTER_ADDR?.trim();
  if (!masterAddr) throw new RangeError('environment variable MASTER_ADDR is required with WORLD_SIZE above 1 (the address of the rank-0 machine)');
  const masterPort = integer(env, 'MASTER_PORT', 1);
  if (masterPort > 65535) throw new RangeError(`environment variable MASTER_PORT=${masterPort} must be in 1..65535`);
  return { rank, worldSize, localRank, masterAddr, masterPort };
}

function integer(env: Env, name: string, min: number): number {
  const raw = env[name];
  if (raw === undefined) throw new RangeError(`environment variable ${name} is required with WORLD_SIZE above 1`);
  const value = Number(raw.trim());
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`environment variable ${name}='${raw}' must be an integer >= ${min}`);
  }
  return value;
}
