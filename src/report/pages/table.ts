// Table cells of a report: plain text or numbers, or text with a mark (e.g. a difference whose
// confidence interval excludes zero), and the formatting of estimates with their intervals.
import { escapeHtml } from './markup.js';
import { excludesZero } from '../statistics/stats.js';

/** better/worse: a difference whose interval excludes zero, coloured by its direction. */
export type CellMark = 'better' | 'worse' | 'bold' | 'muted';

export type Cell = string | number | null | { text: string | number; mark?: CellMark; title?: string };

export function cellHtml(cell: Cell, tag: 'th' | 'td'): string {
  const scope = tag === 'th' ? ' scope="row"' : '';
  if (cell === null) return `<${tag}${scope}>–</${tag}>`;
  if (typeof cell !== 'object') return `<${tag}${scope}>${escapeHtml(String(cell))}</${tag}>`;
  const cls = cell.mark ? ` class="${cell.mark}"` : '';
  const title = cell.title ? ` title="${escapeHtml(cell.title)}"` : '';
  return `<${tag}${scope}${cls}${title}>${escapeHtml(String(cell.text))}</${tag}>`;
}

export interface IntervalFormat {
  /** Multiplier before printing, e.g. 100 for recalls shown as percentages; 1 by default. */
  scale?: number;
  digits?: number;
  /** Print a + before positive numbers (for differences). */
  signed?: boolean;
}

interface EstimateWithInterval {
  estimate: number;
  lo: number;
  hi: number;
}

/** "81.23 [80.10, 82.40]": the estimate and its interval, scaled and rounded alike. */
export function formatInterval(interval: EstimateWithInterval, format: IntervalFormat = {}): string {
  const { scale = 1, digits = 2, signed = false } = format;
  const f = (v: number) => {
    const s = (v * scale).toFixed(digits);
    return signed && v * scale > 0 && Number(s) !== 0 ? `+${s}` : s.replace(/^-(0\.?0*)$/, '$1');
  };
  return interval.lo === interval.hi && interval.lo === interval.estimate ? f(interval.estimate) : `${f(interval.estimate)} [${f(interval.lo)}, ${f(interval.hi)}]`;
}

/**
 * A cell for a method-minus-baseline difference: signed, with its interval, marked better or
 * worse only when the interval excludes zero (the title says which interval it is).
 */
export function differenceCell(
  interval: EstimateWithInterval & { level?: number },
  options: IntervalFormat & { higherIsBetter?: boolean } = {},
): Cell {
  const { higherIsBetter = true, scale = 100, digits = 2 } = options;
  const text = formatInterval(interval, { scale, digits, signed: true });
  const level = `${Math.round(100 * (interval.level ?? 0.95))}% interval`;
  if (!excludesZero(interval)) return { text, title: `${level} includes 0` };
  const better = interval.lo > 0 === higherIsBetter;
  return { text, mark: better ? 'better' : 'worse', title: `${level} excludes 0` };
}
