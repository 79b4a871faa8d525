// The data-parallel flags of `mdprop train`: --nproc workers on this machine, --nnodes machines,
// --node-rank, --master-addr/--master-port of rank 0's store, --dist-timeout, --dist-backend.
// With more than one worker this process starts them (each one `mdprop train` again, in the
// environment of a torchrun worker) and waits; a process started in such an environment by any
// launcher (torchrun, srun, a Kubernetes job) joins the run as its RANK.
import { fileURLToPath } from 'node:url';
import { joinRun, launchWorkers, type Backend, type DataParallel, type WorkerPlace } from '../../parallel/index.js';
import { FLAG_FIELDS, flagOf, type FlagValues } from '../../train/index.js';
import { UsageError } from '../errors.js';
import { integerFlag } from '../parse.js';
import type { CliStreams } from '../io.js';

export interface LaunchFlags {
  nproc?: string;
  nnodes?: string;
  nodeRank?: string;
  masterAddr?: string;
  masterPort?: string;
  distTimeout?: string;
  distBackend?: string;
}

export interface Launch {
  nproc: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string | undefined;
  masterPort: number | undefined;
  timeoutMs: number;
  backend: Backend | undefined;
}

/** The default wait of a collective, as torch.distributed's: 30 minutes. */
const DEFAULT_TIMEOUT_S = 1800;

export const LAUNCH_HELP: readonly [string, string][] = [
  ['--nproc <n>', 'worker processes on this machine, training together (data parallel over torch.distributed); with --device cuda one GPU each (default 1)'],
  ['--nnodes <n>', 'machines in the run; start `mdprop train` with the same flags on each (default 1)'],
  ['--node-rank <r>', "this machine's index, 0..nnodes-1; node 0 runs rank 0, which writes the run (default 0)"],
  ['--master-addr <host>', 'address of node 0, where the rendezvous store listens (default 127.0.0.1, or $MASTER_ADDR)'],
  ['--master-port <port>', 'a free TCP port on node 0 (default: any free port on one machine, or $MASTER_PORT)'],
  ['--dist-timeout <s>', 'seconds a worker waits for the others at a collective before stopping with an error (default 1800)'],
  ['--dist-backend <name>', 'gloo or nccl (default: nccl for --device cuda where libtorch has it, else gloo)'],
];

/** An integer flag in min..max, or its fallback when not given. */
function integerOr(flag: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  return raw === undefined ? fallback : integerFlag(flag, raw, min, max);
}

export function launchFlags(flags: LaunchFlags): Launch {
  const nproc = integerOr('--nproc', flags.nproc, 1, 1, 4096);
  const nnodes = integerOr('--nnodes', flags.nnodes, 1, 1, 65536);
  const nodeRank = integerOr('--node-rank', flags.nodeRank, 0, 0, nnodes - 1);
  const masterAddr = flags.masterAddr ?? process.env.MASTER_ADDR;
  const portText = flags.masterPort ?? process.env.MASTER_PORT;
  const masterPort = portText === undefined ? undefined : integerFlag(flags.masterPort === undefined ? 'MASTER_PORT' : '--master-port', portText, 1, 65535);
  if (nnodes > 1 && (masterAddr === undefined || masterPort === undefined)) {
    throw new UsageError('--nnodes above 1 needs --master-addr and --master-port (node 0 and a free port on it), or MASTER_ADDR and MASTER_PORT');
  }
  const timeoutText = flags.distTimeout;
  const timeoutS = timeoutText === undefined ? DEFAULT_TIMEOUT_S : Number(timeoutText);
  if (!(timeoutS > 0) || !Number.isFinite(timeoutS)) throw new UsageError(`--dist-timeout: expected a positive number of seconds, got '${timeoutText}'`);
  const backend = flags.distBackend;
  if (backend !== undefined && backend !== 'gloo' && backend !== 'nccl') throw new UsageError(`--dist-backend: expected gloo or nccl, got '${backend}'`);
  return { nproc, nnodes, nodeRank, masterAddr, masterPort, timeoutMs: timeoutS * 1000, backend };
}

/** This process's part in the run its environment describes. */
export function joinFromEnvironment(place: WorkerPlace, device: string, launch: Launch): DataParallel {
  return joinRun(place, { device, timeoutMs: launch.timeoutMs, ...(launch.backend ? { backend: launch.backend } : {}) });
}

/** Starts this machine's workers with the same settings (and one run directory) and waits; returns the exit code. */
export async function launchLocalWorkers(launch: Launch, flags: FlagValues & LaunchFlags & { config?: string; resume?: string }, out: string, io: CliStreams): Promise<number> {
  const args = ['train'];
  for (const field of FLAG_FIELDS) {
    const value = flags[field] as string | boolean | undefined;
    if (value !== undefined && field !== 'out') args.push(flagOf(field), value === true ? 'yes' : String(value));
  }
  if (flags.config !== undefined) args.push('--config', flags.config);
  // Every worker must name the same run directory, even the default one with its timestamp.
  if (flags.resume !== undefined) args.push('--resume', flags.resume);
  else args.push('--out', out);
  args.push('--dist-timeout', String(launch.timeoutMs / 1000));
  if (launch.backend) args.push('--dist-backend', launch.backend);
  const main = fileURLToPath(new URL('../main.js', import.meta.url));
  const result = await launchWorkers({
    nproc: launch.nproc,
    nnodes: launch.nnodes,
    nodeRank: launch.nodeRank,
    ...(launch.masterAddr !== undefined ? { masterAddr: launch.masterAddr } : {}),
    ...(launch.masterPort !== undefined ? { masterPort: launch.masterPort } : {}),
    command: [main, ...args],
    graceMs: launch.timeoutMs + 10_000,
    log: (line) => io.stderr.write(`mdprop: ${line}\n`),
  });
  if (result.exitCode !== 0 && result.exitCode !== 130) {
    io.stderr.write(`mdprop: the run stopped; continue it from its last checkpoint with: mdprop train --resume ${out} (with any --nproc)\n`);
  }
  return result.exitCode;
}
