// Starts the workers of a data-parallel run on this machine as child processes, in the
// environment torchrun gives its workers (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT), and waits for them. When a worker fails, the others stop on their
// own at their next collective (c10d reports the lost peer, or its timeout); any still running
// after `graceMs` are ended, so nothing is left hanging.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface LaunchOptions {
  /** Workers on this machine. */
  nproc: number;
  /** Machines in the run (default 1), and this one's index (default 0). */
  nnodes?: number;
  nodeRank?: number;
  /** Where rank 0's store listens; default 127.0.0.1 and a free port (one machine only). */
  masterAddr?: string;
  masterPort?: number;
  /** What each worker runs: a script for this Node and its arguments. */
  command: readonly string[];
  /** After a worker fails, how long the others get to stop by themselves before being ended (ms). */
  graceMs: number;
  log?: (line: string) => void;
}

export interface WorkerExit {
  rank: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface LaunchResult {
  /** 0 when every worker succeeded; 130 when all were interrupted; else the first failure's code (1 for a signal). */
  exitCode: number;
  exits: WorkerExit[];
}

/** A TCP port nothing listens on now (for a run on one machine). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function launchWorkers(options: LaunchOptions): Promise<LaunchResult> {
  const { nproc, command, graceMs } = options;
  const nnodes = options.nnodes ?? 1;
  const nodeRank = options.nodeRank ?? 0;
  if (!Number.isInteger(nproc) || nproc < 1) throw new RangeError(`nproc must be a positive integer, got ${nproc}`);
  if (!Number.isInteger(nnodes) || nnodes < 1) throw new RangeError(`nnodes must be a positive integer, got ${nnodes}`);
  if (!Number.isInteger(nodeRank) || nodeRank < 0 || nodeRank >= nnodes) throw new RangeError(`node rank must be in 0..${nnodes - 1}, got ${nodeRank}`);
  if (nnodes > 1 && (options.masterAddr === undefined || options.masterPort === undefined)) {
    throw new RangeError('a run over several machines needs the master address and port (of the machine of node rank 0)');
  }
  const masterAddr = options.masterAddr ?? '127.0.0.1';
  const masterPort = options.masterPort ?? (await freePort());
  const worldSize = nnodes * nproc;
  const log = options.log ?? (() => {});

  const exits: WorkerExit[] = [];
  const children: ChildProcess[] = [];
  let firstFailure: WorkerExit | null = null;
  let graceTimer: NodeJS.Timeout | undefined;
  const running = () => children.filter((c) => c.exitCode === null && c.signalCode === null);
  const endSurvivors = (signal: NodeJS.Signals) => {
    for (const child of running()) child.kill(signal);
  };
  const forwardTerm = () => endSurvivors('SIGTERM');
  process.on('SIGTERM', forwardTerm);
  // Ctrl-C reaches the workers from the terminal (one process group); this process waits for them
  // to stop with their checkpoint instead of exiting first. Forwarding it would count twice.
  const waitOnInterrupt = () => log('interrupted: waiting for the workers to stop after their current step');
  process.on('SIGINT', waitOnInterrupt);

  const done = Array.from({ length: nproc }, (_, localRank) => {
    const rank = nodeRank * nproc + localRank;
    // Workers run under the same Node options as this process (as cluster workers do).
    const child = spawn(process.execPath, [...process.execArgv, ...command], {
      stdio: 'inherit',
      env: {
        ...process.env,
        RANK: String(rank),
        WORLD_SIZE: String(worldSize),
        LOCAL_RANK: String(localRank),
        LOCAL_WORLD_SIZE: String(nproc),
        MASTER_ADDR: masterAddr,
        MASTER_PORT: String(masterPort),
      },
    });
    children.push(child);
    return new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        const exit = { rank, code, signal };
        exits.push(exit);
        if ((code !== 0 || signal !== null) && firstFailure === null && code !== 130) {
          firstFailure = exit;
          log(`worker rank ${rank} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}; the other workers stop at their next collective`);
          graceTimer = setTimeout(() => {
            if (running().length === 0) return;
            log(`ending ${running().length} worker(s) still running ${Math.round(graceMs / 1000)} s after rank ${rank} failed`);
            endSurvivors('SIGTERM');
            setTimeout(() => endSurvivors('SIGKILL'), 5000).unref();
          }, graceMs);
          graceTimer.unref();
        }
        resolve();
      });
    });
  });
  try {
    await Promise.all(done);
  } finally {
    clearTimeout(graceTimer);
    process.off('SIGTERM', forwardTerm);
    process.off('SIGINT', waitOnInterrupt);
  }
  exits.sort((a, b) => a.rank - b.rank);
  const failure = firstFailure as WorkerExit | null;
  const exitCode = failure ? (failure.code ?? 1) || 1 : exits.every((e) => e.code === 0) ? 0 : exits.some((e) => e.code === 130) ? 130 : 1;
  return { exitCode, exits };
}
