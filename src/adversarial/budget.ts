// Attack budgets as users write them, and the valid input box of normalized images.
// A plain number ("0.01") is in normalized-input units, the unit of the authors' eps; a fraction
// ("4/255") is a share of the [0, 1] pixel range and becomes one value per channel after the
// normalization x' = (x - mean) / std, i.e. pixelEps / std[c].
import * as T from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import type { InputRange } from './pgd.js';
import { pixelToNormalizedEps } from './pgd.js';

export type BudgetUnit = 'normalized' | 'pixel';

export interface Budget {
  /** As written: "0.01", "4/255". */
  text: string;
  /** The amount in its own unit (4/255 -> 0.0157 of the pixel range). */
  value: number;
  unit: BudgetUnit;
}

const NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?$/i;

/** Parses "0.01" (normalized units) or "4/255" (pixel units); throws RangeError naming the text. */
export function parseBudget(text: string): Budget {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  if (slash >= 0) {
    const [top, bottom] = [trimmed.slice(0, slash).trim(), trimmed.slice(slash + 1).trim()];
    if (!NUMBER.test(top) || !NUMBER.test(bottom) || Number(bottom) === 0) {
      throw new RangeError(`'${text}' is not a budget: expected a number >= 0 or a fraction such as 4/255`);
    }
    return { text: trimmed, value: Number(top) / Number(bottom), unit: 'pixel' };
  }
  if (!NUMBER.test(trimmed)) throw new RangeError(`'${text}' is not a budget: expected a number >= 0 or a fraction such as 4/255`);
  return { text: trimmed, value: Number(trimmed), unit: 'normalized' };
}

/**
 * A budget as training and evaluation take it: a number is in normalized-input units (0.01), text
 * is parsed ("0.01", "4/255"). Throws RangeError naming the value.
 */
export function toBudget(value: number | string): Budget {
  if (typeof value === 'string') return parseBudget(value);
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${value} is not a budget: expected a number >= 0 or a fraction such as 4/255`);
  return { text: String(value), value, unit: 'normalized' };
}

/** Whether text is a budget as parseBudget reads it ("0.01", "4/255"). */
export function isBudgetText(text: string): boolean {
  try {
    parseBudget(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * A budget (a number, or text such as "4/255") in normalized-input units: one number, or one per
 * channel for a pixel budget of several channels.
 */
export function budgetAmount(value: number | string, std: readonly number[]): number | number[] {
  const amount = budgetInInputUnits(toBudget(value), std);
  return typeof amount !== 'number' && amount.length === 1 ? amount[0]! : amount;
}

/** An L2 attack takes budgets in normalized units only; throws RangeError naming the first pixel budget. */
export function checkBudgetNorm(norm: 'linf' | 'l2', budgets: readonly Budget[]): void {
  const pixel = budgets.find((b) => b.unit === 'pixel');
  if (norm === 'l2' && pixel) throw new RangeError(`l2 takes budgets in normalized units (plain numbers), got '${pixel.text}'`);
}

/** The budget in normalized-input units: one number, or one per channel for pixel budgets. */
export function budgetInInputUnits(budget: Budget, std: readonly number[]): number | number[] {
  return budget.unit === 'normalized' ? budget.value : pixelToNormalizedEps(budget.value, std);
}

/** The smallest per-channel amount (a scalar stand-in where one number is needed, e.g. a random start). */
export function smallestAmount(amount: number | readonly number[]): number {
  return typeof amount === 'number' ? amount : Math.min(...amount);
}

/** Scales a budget amount, channel by channel. */
export function scaleAmount(amount: number | readonly number[], factor: number): number | number[] {
  return typeof amount === 'number' ? amount * factor : amount.map((a) => a * factor);
}

/**
 * The box normalized images live in: pixel 0 and pixel 1 of each channel after normalization,
 * as [1, C, 1, 1] tensors (the caller owns them).
 */
export function normalizedPixelRange(mean: readonly number[], std: readonly number[], device?: string): InputRange {
  if (mean.length !== std.length || mean.length === 0) throw new RangeError(`mean (${mean.length}) and std (${std.length}) need one value per channel`);
  const shape = [1, mean.length, 1, 1];
  const min = T.tensor(mean.map((m, c) => (0 - m) / std[c]!), shape, { device });
  const max = T.tensor(mean.map((m, c) => (1 - m) / std[c]!), shape, { device });
  return { kind: 'fixed', min, max };
}

/** Disposes the tensors of a fixed range. */
export function disposeRange(range: InputRange): void {
  if (range.kind !== 'fixed') return;
  for (const bound of [range.min, range.max]) if (typeof bound !== 'number') (bound as Tensor).dispose();
}
