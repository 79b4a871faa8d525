// Creating a loss's own learnable tensors: outside every tidy() scope (they live as long as the
// loss), with gradients on, where the placement says.
import { full, keep, randn, uniform, type Tensor } from '../../torch/index.js';
import type { ParameterPlacement } from './loss.js';

function createOptions(placement: ParameterPlacement): { dtype: 'float32' | 'float64'; device?: string } {
  const device = placement.device ?? 'cpu';
  return { dtype: placement.dtype ?? 'float32', device: device };
}

export function constantParameter(shape: number[], value: number, placement: ParameterPlacement): Tensor {
  return keep(full(shape, value, createOptions(placement))).setRequiresGrad(true);
}

export function uniformParameter(shape: number[], bound: number, placement: ParameterPlacement): Tensor {
  return keep(uniform(shape, -bound, bound, createOptions(placement))).setRequiresGrad(true);
}

export function normalParameter(shape: number[], std: number, placement: ParameterPlacement): Tensor {
  const t = keep(randn(shape, createOptions(placement)));
  t.mul_(std);
  return t.setRequiresGrad(true);
}

export function checkPositiveInteger(where: string, name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${where}: ${name} must be a positive integer, got ${value}`);
}

/** Labels must index a parameter row: integers in [0, numClasses). */
export function checkClassLabels(where: string, labels: Tensor, numClasses: number): void {
  if (labels.size(0) === 0) return;
  const lo = labels.min().item();
  const hi = labels.max().item();
  if (lo < 0 || hi >= numClasses) throw new RangeError(`${where}: labels must lie in [0, ${numClasses}), got [${lo}, ${hi}]`);
}
