// Stopping a long command by signal. The first Ctrl-C, or SIGTERM (what `timeout`, `docker stop`
// and batch schedulers send), aborts `signal`: the work stops where nothing is lost (training
// after its current step, with a checkpoint). A second signal quits at once.
import type { CliStreams } from './io.js';

/** The reason an interrupted command's signal carries: which signal, and the exit code it implies. */
export class CommandInterrupted extends Error {
  override name = 'CommandInterrupted';
  constructor(readonly by: 'SIGINT' | 'SIGTERM') {
    super(`interrupted by ${by}`);
  }
  /** 128 + the signal's number, as a shell reports a process that a signal ended. */
  get exitCode(): number {
    return this.by === 'SIGINT' ? 130 : 143;
  }
}

export interface Interrupts {
  readonly signal: AbortSignal;
  /** The exit code of a command that stopped on the signal: 130 for Ctrl-C, 143 for SIGTERM (130 if none came). */
  exitCode(): number;
  /** Removes the handlers: signals act as Node's defaults again. */
  dispose(): void;
}

/**
 * Catches `signals` until disposed. `announce` says what the first one does (e.g. "stopping
 * after the current step"); it returns null to stay silent.
 */
export function catchInterrupts(io: CliStreams, signals: readonly ('SIGINT' | 'SIGTERM')[], announce: () => string | null): Interrupts {
  const controller = new AbortController();
  const handlers = signals.map((by) => {
    const handler = () => {
      if (controller.signal.aborted) {
        io.stderr.write('mdprop: interrupted again; quitting at once (the last checkpoint is kept)\n');
        process.exit(new CommandInterrupted(by).exitCode);
      }
      const message = announce();
      if (message !== null) io.stderr.write(`\nmdprop: ${message} (${by === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM'} again to quit at once)\n`);
      controller.abort(new CommandInterrupted(by));
    };
    process.on(by, handler);
    return [by, handler] as const;
  });
  return {
    signal: controller.signal,
    exitCode() {
      const reason: unknown = controller.signal.reason;
      return reason instanceof CommandInterrupted ? reason.exitCode : 130;
    },
    dispose() {
      for (const [by, handler] of handlers) process.off(by, handler);
    },
  };
}
