// The saved form of an optimizer's state: tensors (for safetensors) plus JSON meta, and the
// checks that let loading refuse what does not fit before anything changes.
import type { Tensor } from '../torch/index.js';

/** A hyperparameter value: all of them are JSON-serialisable as they are. */
export type HyperValue = number | boolean | readonly number[];

export interface SavedGroup {
  name: string;
  /** Number of parameters in the group. */
  size: number;
  hyper: Record<string, HyperValue>;
}

export interface SavedParam {
  shape: number[];
  step: number;
  /** Names of this parameter's state tensors, stored as `state.<index>.<name>`. */
  buffers: string[];
}

/** The JSON half of an optimizer's checkpoint. */
export interface OptimizerStateMeta {
  format: typeof STATE_FORMAT;
  optimizer: string;
  groups: SavedGroup[];
  /** By parameter index: groups' parameters in order, numbered from 0. */
  params: SavedParam[];
}

/** An optimizer checkpoint: tensors for safetensors, meta for JSON. */
export interface OptimizerState {
  tensors: Map<string, Tensor>;
  meta: OptimizerStateMeta;
}

export const STATE_FORMAT = 'mdprop.optim/1';

/** Arrays (betas) are copied so a group never shares one with a checkpoint or a caller. */
export function copyHyper(value: HyperValue): HyperValue {
  return Array.isArray(value) ? [...(value as readonly number[])] : value;
}

/** What is structurally wrong with a meta object read from JSON, or null. */
export function malformation(meta: OptimizerStateMeta): string | null {
  if (typeof meta !== 'object' || meta === null) return 'meta is not an object';
  if (!Array.isArray(meta.groups) || !Array.isArray(meta.params)) return "meta lacks the 'groups' or 'params' array";
  const badGroup = meta.groups.findIndex((g) => typeof g?.size !== 'number' || typeof g.name !== 'string' || typeof g.hyper !== 'object' || g.hyper === null);
  if (badGroup >= 0) return `group ${badGroup} lacks name, size or hyper`;
  const badParam = meta.params.findIndex(
    (p) => !Array.isArray(p?.shape) || typeof p.step !== 'number' || !Array.isArray(p.buffers) || p.buffers.some((b) => typeof b !== 'string'),
  );
  if (badParam >= 0) return `parameter ${badParam} lacks shape, step or buffer names`;
  return null;
}

export function stateTensorName(index: number, buffer: string): string {
  return `state.${index}.${buffer}`;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function sameKind(a: HyperValue, b: HyperValue): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && (b as readonly unknown[]).every((v) => typeof v === 'number');
  }
  return typeof a === typeof b;
}
