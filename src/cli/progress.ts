// Progress bars for long runs: rate and ETA on a TTY, sparse plain lines otherwise (CI, logs).
// The rate counts only work done by this process: a resumed run shows the steps it found done,
// but they do not inflate its rate or shrink its ETA.
import cliProgress from 'cli-progress';

export interface Progress {
  /** Advance by `n` items; `info` replaces the trailing status text. */
  tick(n?: number, info?: string): void;
  stop(): void;
}

/** What a bar draws: items done of total, and how many of them this process did (for the rate). */
interface Meter {
  show(done: number, total: number, doneHere: number, info: string): void;
  stop(): void;
}

/** Rate and ETA from the work done here since `start`; ETA is null until there is a rate. */
export function rateAndEta(done: number, total: number, doneHere: number, seconds: number): { rate: number; eta: number | null } {
  const rate = doneHere / Math.max(seconds, 1e-3);
  return { rate, eta: rate > 0 ? Math.max(0, total - done) / rate : done >= total ? 0 : null };
}

function formatEta(eta: number | null): string {
  if (eta === null) return '?';
  const s = Math.round(eta);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function meter(label: string, total: number, unit: string): Meter {
  if (process.env.MDPROP_QUIET) return { show() {}, stop() {} };
  return process.stderr.isTTY ? ttyMeter(label, total, unit) : plainMeter(label, total, unit);
}

function ttyMeter(label: string, firstTotal: number, unit: string): Meter {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} |{bar}| {value}/{total} ${unit} | {rate} ${unit}/s | ETA {etaText} {info}`,
      stream: process.stderr,
      // The cursor stays visible: a command ended by Ctrl-C must not leave the terminal without one.
      hideCursor: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const start = Date.now();
  bar.start(firstTotal, 0, { rate: '0.0', etaText: '?', info: '' });
  return {
    show(done, total, doneHere, info) {
      const { rate, eta } = rateAndEta(done, total, doneHere, (Date.now() - start) / 1000);
      if (total !== bar.getTotal()) bar.setTotal(total);
      bar.update(done, { rate: rate.toFixed(1), etaText: formatEta(eta), info });
    },
    stop() {
      bar.stop();
    },
  };
}

/**
 * Without a terminal: a line every ~10% of the work, with rate and ETA, one at the end, and one
 * when the status enters a new stage (its text before the first comma: "seed 1: evaluating");
 * finer status changes ("seed 1: evaluating, stax eps 0.1 (3/9)") at most every 30 s.
 */
function plainMeter(label: string, firstTotal: number, unit: string): Meter {
  const start = Date.now();
  let nextReport = Math.max(1, Math.ceil(firstTotal / 10));
  let lastLine = { at: start, info: '', done: -1 };
  return {
    show(done, total, doneHere, info) {
      const now = Date.now();
      const due = (done >= nextReport && done < total) || (done >= total && lastLine.done < total);
      const news = info !== lastLine.info && (stage(info) !== stage(lastLine.info) || now - lastLine.at >= STATUS_EVERY_MS);
      if (!due && !news) return;
      if (done >= nextReport) nextReport = done + Math.max(1, Math.ceil((total || firstTotal) / 10));
      lastLine = { at: now, info, done };
      const { rate, eta } = rateAndEta(done, total, doneHere, (now - start) / 1000);
      process.stderr.write(
        `${label}: ${done}/${total} ${unit} (${rate.toFixed(1)} ${unit}/s, ETA ${formatEta(eta)})${info ? ` ${info}` : ''}\n`,
      );
    },
    stop() {},
  };
}

/** How often, at most, a plain log line is written only because the status text changed. */
const STATUS_EVERY_MS = 30_000;

/** A status's stage: its text before the first comma. */
const stage = (info: string) => info.split(', ')[0];

export function progressBar(label: string, total: number, unit = 'it'): Progress {
  const m = meter(label, total, unit);
  let done = 0;
  return {
    tick(n = 1, info = '') {
      done += n;
      m.show(done, total, done, info);
    },
    stop() {
      m.stop();
    },
  };
}

export interface ProgressTo {
  /**
   * Shows `done` of `total` (absolute counts, as library callbacks report them). `doneHere`, when
   * the caller knows it, is the part of `done` this process did; the rest was found done (a resumed
   * run) and is left out of the rate. Without it, the whole of `done` counts.
   */
  update(done: number, total: number, info?: string, doneHere?: number): void;
  stop(): void;
}

/** A bar fed with absolute counts; it appears at the first update and stays stopped once stopped. */
export function progressTo(label: string, unit: string): ProgressTo {
  let m: Meter | null = null;
  let stopped = false;
  return {
    update(done, total, info = '', doneHere = done) {
      if (stopped) return;
      m ??= meter(label, total, unit);
      m.show(done, total, doneHere, info);
    },
    stop() {
      if (!stopped) m?.stop();
      stopped = true;
    },
  };
}
