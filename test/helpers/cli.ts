// Running `mdprop` from tests, two ways with one result shape: in this process through runCli
// (flag errors and other checks that stop before real work), or as the built binary in a child
// process (end to end: proves the installed command works).
import { spawn, spawnSync } from 'node:child_process';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../src/cli/run.js';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The compiled entry point, dist/src/cli/main.js. */
export const CLI_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/**
 * `mdprop <args...>` in this process. stdout holds what the program and the data, metrics, bench
 * and compare commands print; stderr holds the error line (`mdprop: ...`) and commander's messages.
 * Progress bars are off, as in the child runs.
 */
export async function runMdprop(args: readonly string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const quiet = process.env.MDPROP_QUIET;
  process.env.MDPROP_QUIET = '1';
  try {
    const { code } = await runCli(args, { stdout: { write: (text) => (stdout += text) }, stderr: { write: (text) => (stderr += text) } });
    return { code, stdout, stderr };
  } finally {
    if (quiet === undefined) delete process.env.MDPROP_QUIET;
    else process.env.MDPROP_QUIET = quiet;
  }
}

export interface SpawnOptions {
  /** MDPROP_QUIET=1 (no progress output) unless false. */
  readonly quiet?: boolean;
  /** Arguments for node itself, before the script (e.g. --import). */
  readonly nodeArgs?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

/** `mdprop <args...>` as a child process of the built binary. A signal gives 128 + its number, as in a shell. */
export function spawnMdprop(args: readonly string[], options: SpawnOptions = {}): CliRun {
  const env = { ...process.env, ...options.env };
  if (options.quiet === false) delete env.MDPROP_QUIET;
  else env.MDPROP_QUIET = '1';
  const r = spawnSync(process.execPath, [...(options.nodeArgs ?? []), CLI_MAIN, ...args], { encoding: 'utf8', env });
  if (r.error) throw r.error;
  const code = r.status ?? 128 + (r.signal ? constants.signals[r.signal] : 0);
  return { code, stdout: r.stdout, stderr: r.stderr };
}

/**
 * `mdprop <args...>` as a child process with progress lines on (plain, no TTY), sent `signal` once
 * its stderr matches `when` (and `delayMs` more have passed). `sent` says whether it was: a run
 * that ended before is a test failure.
 */
export async function spawnMdpropUntil(args: readonly string[], when: RegExp, signal: 'SIGINT' | 'SIGTERM', delayMs = 0): Promise<CliRun & { sent: boolean }> {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MDPROP_QUIET: '' } });
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    if (!sent && when.test(stderr)) {
      sent = true;
      setTimeout(() => child.kill(signal), delayMs);
    }
  });
  const code = await new Promise<number>((resolve) => child.on('exit', (c, s) => resolve(c ?? 128 + (s ? constants.signals[s] : 0))));
  return { code, stdout, stderr, sent };
}
