// Progress bars for long runs: rate and ETA on a TTY, sparse plain lines otherwise (CI, logs).
import cliProgress from 'cli-progress';

export interface Progress {
  /** Advance by `n` items; `info` replaces the trailing status text. */
  tick(n?: number, info?: string): void;
  stop(): void;
}

export function progressBar(label: string, total: number, unit = 'it'): Progress {
  const stream = process.stderr;
  if (process.env.MDPROP_QUIET) return { tick() {}, stop() {} };
  if (!stream.isTTY) return plainProgress(label, total, unit);
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} |{bar}| {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted} {info}`,
      stream,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const start = Date.now();
  let done = 0;
  bar.start(total, 0, { rate: '0.0', info: '' });
  return {
    tick(n = 1, info = '') {
      done += n;
      const rate = done / Math.max((Date.now() - start) / 1000, 1e-3);
      bar.update(done, { rate: rate.toFixed(1), info });
    },
    stop() {
      bar.stop();
    },
  };
}

/** Without a terminal: a line at most every ~10% with rate and ETA, so logs stay readable. */
function plainProgress(label: string, total: number, unit: string): Progress {
  const start = Date.now();
  let done = 0;
  let nextReport = Math.max(1, Math.ceil(total / 10));
  return {
    tick(n = 1, info = '') {
      done += n;
      if (done < nextReport && done < total) return;
      nextReport = done + Math.max(1, Math.ceil(total / 10));
      const seconds = (Date.now() - start) / 1000;
      const rate = done / Math.max(seconds, 1e-3);
      const eta = rate > 0 ? (total - done) / rate : 0;
      process.stderr.write(
        `${label}: ${done}/${total} ${unit} (${rate.toFixed(1)} ${unit}/s, ETA ${eta.toFixed(0)}s)${info ? ` ${info}` : ''}\n`,
      );
    },
    stop() {},
  };
}

export interface ProgressTo {
  /** Shows `done` of `total` (absolute counts, as library callbacks report them). */
  update(done: number, total: number, info?: string): void;
  stop(): void;
}

/** A bar fed with absolute counts; it appears at the first update and stays stopped once stopped. */
export function progressTo(label: string, unit: string): ProgressTo {
  let bar: Progress | null = null;
  let stopped = false;
  let shown = 0;
  return {
    update(done, total, info) {
      if (stopped) return;
      bar ??= progressBar(label, total, unit);
      bar.tick(done - shown, info);
      shown = done;
    },
    stop() {
      if (!stopped) bar?.stop();
      stopped = true;
    },
  };
}
