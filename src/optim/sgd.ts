// Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay,
// following PyTorch's torch.optim.SGD update:
//   g = grad + weightDecay * p
//   b = g on the first step, else momentum * b + (1 - dampening) * g
//   g = nesterov ? g + momentum * b : b      (when momentum > 0)
//   p = p - lr * g
import { foreachAdd, foreachAdd_, foreachMul_, type Tensor } from '../torch/index.js';
import {
  checkBaseHyper,
  checkNonNegative,
  Optimizer,
  type OptimizerSettings,
  type ParamBatch,
  type ParamGroup,
  type ParamGroupSpec,
  type ParamState,
} from './optimizer.js';

export type SgdOptions = {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
};

export const SGD_DEFAULTS: Readonly<SgdOptions> = { lr: 1e-3, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 };

export class SGD extends Optimizer<SgdOptions> {
  constructor(params: readonly Tensor[] | readonly ParamGroupSpec<SgdOptions>[], options: Partial<SgdOptions> & OptimizerSettings = {}) {
    const { foreach, ...hyper } = options;
    super('sgd', params, { ...SGD_DEFAULTS, ...hyper }, { foreach });
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

  protected override updateBatch(batch: ParamBatch, group: ParamGroup<SgdOptions>): void {
    let directions = group.weightDecay !== 0 ? foreachAdd(batch.grads, batch.params, group.weightDecay) : batch.grads;
    if (group.momentum !== 0) {
      // Buffers that exist decay and take the new direction; a new one starts as a copy of it.
      const existing = batch.states.map((s) => s.buffers.get('momentum_buffer'));
      const old = existing.flatMap((b, i) => (b ? [i] : []));
      if (old.length > 0) {
        const bufs = old.map((i) => existing[i]!);
        foreachMul_(bufs, group.momentum);
        foreachAdd_(bufs, old.map((i) => directions[i]!), 1 - group.dampening);
      }
      const bufs = batch.states.map((s, i) => existing[i] ?? this.buffer(s, 'momentum_buffer', () => directions[i]!.clone()));
      directions = group.nesterov ? foreachAdd(directions, bufs, group.momentum) : bufs;
    }
    foreachAdd_(batch.params, directions, -group.lr);
  }
}
