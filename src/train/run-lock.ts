// One writer per run directory: a lock file holding the writer's pid and host, created with
// O_EXCL so only one process can make it. A lock whose process is gone (a SIGKILL, a power cut)
// is taken over with a warning; one held by a live process, or by another host whose processes
// cannot be checked from here, refuses the second writer with a message naming the holder.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { lockFileSchema, RunDirectory, type LockHolder } from '../formats/index.js';

export type { LockHolder };

export class RunLockedError extends Error {
  override name = 'RunLockedError';
  constructor(
    readonly runDir: string,
    readonly holder: LockHolder,
  ) {
    super(`${runDir} is in use by process ${holder.pid} on ${holder.host} (since ${holder.since}); wait for it to finish or stop it`);
  }
}

export interface RunLock {
  readonly path: string;
  release(): void;
}

function readHolder(path: string): LockHolder | null {
  try {
    const parsed = lockFileSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw err;
    return null; // empty or half written: its writer died between creating and filling it
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by someone else
  }
}

/** Takes the lock of `runDir` (which must exist), or throws RunLockedError. `warn` hears of a stale lock taken over. */
export function lockRun(runDir: string, warn: (line: string) => void = () => {}): RunLock {
  const path = new RunDirectory(runDir).file('lock');
  const me: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw lockedOr(err, runDir, path);
      let holder: LockHolder | null;
      try {
        holder = readHolder(path);
      } catch {
        continue; // released meanwhile
      }
      // This very process counts as a live holder too: two trainers in one program may not share a run.
      if (holder && (holder.host !== me.host || isAlive(holder.pid))) throw new RunLockedError(runDir, holder);
      warn(holder ? `taking over the lock of ${runDir} from process ${holder.pid}, which is no longer running` : `taking over an unreadable lock file in ${runDir}`);
      rmSync(path, { force: true });
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(me));
    } finally {
      closeSync(fd);
    }
    const release = () => {
      const holder = (() => {
        try {
          return readHolder(path);
        } catch {
          return null;
        }
      })();
      if (holder?.pid === me.pid && holder.host === me.host) rmSync(path, { force: true });
      process.off('exit', release);
    };
    process.on('exit', release); // a process.exit() (a second Ctrl-C) leaves no lock behind
    return { path, release };
  }
}

/** A second attempt that still finds a lock: someone took it between our removal and creation. */
function lockedOr(err: unknown, runDir: string, path: string): Error {
  if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return err as Error;
  let holder: LockHolder | null = null;
  try {
    holder = readHolder(path);
  } catch {
    /* gone again */
  }
  return new RunLockedError(runDir, holder ?? { pid: -1, host: 'unknown', since: 'unknown' });
}
