// Taking a model's parameters out of autograd for a while: attacks need gradients with respect to
// their input only, so the forward passes they make record no graph for the weights and nothing
// can accumulate into a parameter's .grad.
import type { Module } from './module.js';
import { prepareWeightCasts } from './precision.js';

/**
 * Switches requires_grad off on every parameter of `module` that has it; returns the undo. In
 * mixed precision the weights' cast copies are made in the graph first, so the forwards after the
 * thaw (a training step's) reuse the casts the frozen ones (its attacks) used.
 */
export function freezeParameters(module: Module<unknown, unknown>): () => void {
  prepareWeightCasts(module);
  const frozen = module.parameters().filter((p) => p.requiresGrad);
  for (const p of frozen) p.setRequiresGrad(false);
  return () => {
    for (const p of frozen) p.setRequiresGrad(true);
  };
}

/** Runs fn with the parameters of `module` frozen (restored afterwards, also on throw). */
export function withFrozenParameters<T>(module: Module<unknown, unknown>, fn: () => T): T {
  const thaw = freezeParameters(module);
  try {
    return fn();
  } finally {
    thaw();
  }
}
