// Runs cases of untrusted files in child processes (untrusted-child.ts) under a memory limit:
// the address space is capped with prlimit where it exists (V8 and libtorch start in about 1.9 GB
// of it; an allocation beyond the cap fails in the child, a C++ one as an error, a V8 heap as an
// abort), the V8 heap with --max-old-space-size, and the resident set by a watchdog that kills a
// child growing past its bound. Several cases share one child to keep the suite fast.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CaseOutcome, ChildCase } from './untrusted-child.js';

const CHILD = fileURLToPath(new URL('./untrusted-child.js', import.meta.url));
const PRLIMIT = '/usr/bin/prlimit';

export interface ChildLimits {
  /** Address space of the child, GiB (needs prlimit). */
  addressSpaceGiB: number;
  /** V8's old space, MiB. */
  heapMiB: number;
  /** The watchdog kills the child when its resident set passes this, MiB. */
  rssMiB: number;
  /** The child is killed after this many milliseconds. */
  timeoutMs: number;
}

export const DEFAULT_CHILD_LIMITS: ChildLimits = { addressSpaceGiB: 6, heapMiB: 1024, rssMiB: 1536, timeoutMs: 60_000 };

export interface ChildRun {
  outcomes: CaseOutcome[];
  /** Exit code and signal of the child; `killedBy` says when the watchdog or the timeout ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  killedBy: 'rss' | 'timeout' | null;
  /** The child's largest resident set the watchdog saw, MiB. */
  maxRssMiB: number;
  stderr: string;
  limitedBy: 'prlimit' | 'watchdog';
}

function rssMiB(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Runs `cases` in one child; `dir` holds the case list. */
export function runChild(cases: readonly ChildCase[], dir: string, limits: ChildLimits = DEFAULT_CHILD_LIMITS): Promise<ChildRun> {
  const list = join(dir, `cases-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(list, JSON.stringify(cases));
  const node = [`--max-old-space-size=${limits.heapMiB}`, CHILD, list];
  const withPrlimit = existsSync(PRLIMIT);
  const child = withPrlimit
    ? spawn(PRLIMIT, [`--as=${Math.round(limits.addressSpaceGiB * 2 ** 30)}`, process.execPath, ...node], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, node, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let killedBy: ChildRun['killedBy'] = null;
  let maxRss = 0;
  // prlimit execs node in the same process, so the pid is node's.
  const watchdog = setInterval(() => {
    const rss = rssMiB(child.pid!);
    maxRss = Math.max(maxRss, rss);
    if (rss > limits.rssMiB && killedBy === null) {
      killedBy = 'rss';
      child.kill('SIGKILL');
    }
  }, 25);
  const timer = setTimeout(() => {
    if (killedBy === null) killedBy = 'timeout';
    child.kill('SIGKILL');
  }, limits.timeoutMs);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearInterval(watchdog);
      clearTimeout(timer);
      const outcomes = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as CaseOutcome);
      resolve({ outcomes, code, signal, killedBy, maxRssMiB: Math.round(maxRss), stderr, limitedBy: withPrlimit ? 'prlimit' : 'watchdog' });
    });
  });
}

/** One line about a child that did not end cleanly, for assertion messages. */
export function describeRun(r: ChildRun, cases: readonly ChildCase[]): string {
  const next = cases[r.outcomes.length];
  return `child exited ${r.code ?? r.signal}${r.killedBy ? ` (killed: ${r.killedBy})` : ''} after ${r.outcomes.length} of ${cases.length} cases${next ? `; running ${next.id} (${next.path})` : ''}: ${r.stderr.slice(-600)}`;
}
