// Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay,
// following PyTorch's torch.optim.SGD update:
//   g = grad + weightDecay * p
//   b = g on the first step, else momentum * b + (1 - dampening) * g
//   g = nesterov ? g + momentum * b : b      (when momentum > 0)
//   p = p - lr * g
import type { Tensor } from '../torch/index.js';
import { checkBaseHyper, checkNonNegative, Optimizer, type ParamGroup, type ParamGroupSpec, type ParamState } from './optimizer.js';

export type SgdOptions = {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
};

export const SGD_DEFAULTS: Readonly<SgdOptions> = { lr: 1e-3, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 };

export class SGD extends Optimizer<SgdOptions> {
  constructor(params: readonly Tensor[] | readonly ParamGroupSpec<SgdOptions>[], options: Partial<SgdOptions> = {}) {
    super('sgd', params, { ...SGD_DEFAULTS, ...options });
  }

  protected override validateHyper(h: SgdOptions, where: string): void {
    checkBaseHyper(h, where);
    checkNonNegative(h.momentum, 'momentum', where);
    if (typeof h.dampening !== 'number' || !Number.isFinite(h.dampening)) throw new RangeError(`${where}: dampening must be a finite number`);
    if (typeof h.nesterov !== 'boolean') throw new TypeError(`${where}: nesterov must be a boolean`);
    // Nesterov's look-ahead is only defined for undamped momentum.
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) throw new RangeError(`${where}: nesterov needs momentum > 0 and dampening 0`);
  }

  protected override updateParam(param: Tensor, grad: Tensor, state: ParamState, group: ParamGroup<SgdOptions>): void {
    let direction = group.weightDecay !== 0 ? grad.add(param, group.weightDecay) : grad;
    if (group.momentum !== 0) {
      const existing = state.buffers.get('momentum_buffer');
      const buf = existing ?? this.buffer(state, 'momentum_buffer', () => direction.clone());
      if (existing) buf.mul_(group.momentum).add_(direction, 1 - group.dampening);
      direction = group.nesterov ? direction.add(buf, group.momentum) : buf;
    }
    param.add_(direction, -group.lr);
  }
}
