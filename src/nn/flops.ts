// Floating-point work of a forward pass, counted from the shapes of the convolutions and matrix
// products it runs (2 operations per multiply-add; batch norm, activations and pooling are left
// out, as is usual: they are a few percent of a ResNet's work).
import { noGrad, tidy, zeros } from '../torch/index.js';
import { Conv2d } from './conv.js';
import { Linear } from './linear.js';
import type { Module } from './module.js';

/** Operations of one forward pass of `model` on one input of `shape` (with its batch dimension). */
export function forwardFlops(model: Module, shape: readonly number[], device = 'cpu'): number {
  let total = 0;
  const layers = model.namedModules().map(([, m]) => m).filter((m) => m instanceof Conv2d || m instanceof Linear);
  // Count by running a forward with each layer wrapped; the wrappers go again afterwards.
  for (const m of layers) {
    const own = m.forward.bind(m);
    m.forward = (x) => {
      const y = own(x);
      if (m instanceof Conv2d) total += 2 * y.numel * (m.inChannels / m.groups) * m.kernelSize[0] * m.kernelSize[1];
      else if (m instanceof Linear) total += 2 * y.numel * m.inFeatures;
      return y;
    };
  }
  const wasTraining = model.training;
  try {
    model.eval();
    noGrad(() => tidy(() => void model.forward(zeros([...shape], { device }))));
  } finally {
    for (const m of layers) delete (m as { forward?: unknown }).forward;
    if (wasTraining) model.train();
  }
  return total;
}
