// AdamW (Loshchilov & Hutter) with PyTorch's torch.optim.AdamW semantics: weight decay is
// decoupled from the gradient, shrinking the parameter before the Adam step:
//   p = p * (1 - lr * weightDecay);  then Adam's bias-corrected step on the raw gradient.
import { foreachMul_, type Tensor } from '../torch/index.js';
import { ADAM_DEFAULTS, AdamFamily, type AdamOptions } from './adam.js';
import type { OptimizerSettings, ParamBatch, ParamGroup, ParamGroupSpec, ParamState } from './optimizer.js';

export const ADAMW_DEFAULTS: Readonly<AdamOptions> = { ...ADAM_DEFAULTS, weightDecay: 1e-2 };

export class AdamW extends AdamFamily {
  constructor(params: readonly Tensor[] | readonly ParamGroupSpec<AdamOptions>[], options: Partial<AdamOptions> & OptimizerSettings = {}) {
    const { foreach, ...hyper } = options;
    super('adamw', params, { ...ADAMW_DEFAULTS, ...hyper }, { foreach });
  }

  protected override updateParam(param: Tensor, grad: Tensor, state: ParamState, group: ParamGroup<AdamOptions>): void {
    if (group.weightDecay !== 0) param.mul_(1 - group.lr * group.weightDecay);
    this.momentStep(param, grad, state, group);
  }

  protected override updateBatch(batch: ParamBatch, group: ParamGroup<AdamOptions>): void {
    if (group.weightDecay !== 0) foreachMul_(batch.params, 1 - group.lr * group.weightDecay);
    this.momentStepBatch(batch, batch.grads, group);
  }
}
