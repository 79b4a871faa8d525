// Adam (Kingma & Ba) with PyTorch's torch.optim.Adam semantics: weight decay is L2, added to the
// gradient; the moments are bias-corrected; amsgrad keeps the running maximum of the second moment.
//   g = grad + weightDecay * p
//   m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g^2   (v_max = max(v_max, v))
//   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
import {
  foreachAdd,
  foreachAdd_,
  foreachAddcdiv_,
  foreachAddcmul_,
  foreachAddScalar_,
  foreachDiv_,
  foreachMaximum_,
  foreachMul_,
  foreachSqrt,
  type Tensor,
} from '../torch/index.js';
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

export type AdamOptions = {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
};

export const ADAM_DEFAULTS: Readonly<AdamOptions> = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false };

/** What Adam and AdamW share: hyperparameter checks and the bias-corrected moment step. */
export abstract class AdamFamily extends Optimizer<AdamOptions> {
  protected override validateHyper(h: AdamOptions, where: string): void {
    checkBaseHyper(h, where);
    checkNonNegative(h.eps, 'eps', where);
    const betas = h.betas;
    if (!Array.isArray(betas) || betas.length !== 2 || betas.some((b) => typeof b !== 'number' || !(b >= 0 && b < 1))) {
      throw new RangeError(`${where}: betas must be two numbers in [0, 1), got ${JSON.stringify(betas)}`);
    }
    if (typeof h.amsgrad !== 'boolean') throw new TypeError(`${where}: amsgrad must be a boolean`);
  }

  /** Move param along the bias-corrected moments of gradient g (weight decay already applied). */
  protected momentStep(param: Tensor, g: Tensor, state: ParamState, h: AdamOptions): void {
    const [beta1, beta2] = h.betas;
    const expAvg = this.zerosBuffer(state, 'exp_avg', param);
    const expAvgSq = this.zerosBuffer(state, 'exp_avg_sq', param);
    expAvg.mul_(beta1).add_(g, 1 - beta1);
    expAvgSq.mul_(beta2).addcmul_(g, g, 1 - beta2);
    const biasCorrection1 = 1 - beta1 ** state.step;
    const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** state.step);
    let second = expAvgSq;
    if (h.amsgrad) {
      const maxSq = this.zerosBuffer(state, 'max_exp_avg_sq', param);
      maxSq.copy_(maxSq.maximum(expAvgSq));
      second = maxSq;
    }
    const denom = second.sqrt().div_(biasCorrection2Sqrt).add_(h.eps);
    param.addcdiv_(expAvg, denom, -h.lr / biasCorrection1);
  }

  /** momentStep for a batch: op for op the same arithmetic, with multi-tensor ops. */
  protected momentStepBatch(batch: ParamBatch, gs: readonly Tensor[], h: AdamOptions): void {
    const [beta1, beta2] = h.betas;
    const { params, states } = batch;
    const expAvg = states.map((s, i) => this.zerosBuffer(s, 'exp_avg', params[i]!));
    const expAvgSq = states.map((s, i) => this.zerosBuffer(s, 'exp_avg_sq', params[i]!));
    foreachMul_(expAvg, beta1);
    foreachAdd_(expAvg, gs, 1 - beta1);
    foreachMul_(expAvgSq, beta2);
    foreachAddcmul_(expAvgSq, gs, gs, 1 - beta2);
    const biasCorrection1 = 1 - beta1 ** batch.step;
    const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** batch.step);
    let second = expAvgSq;
    if (h.amsgrad) {
      const maxSq = states.map((s, i) => this.zerosBuffer(s, 'max_exp_avg_sq', params[i]!));
      foreachMaximum_(maxSq, expAvgSq);
      second = maxSq;
    }
    const denom = foreachSqrt(second);
    foreachDiv_(denom, biasCorrection2Sqrt);
    foreachAddScalar_(denom, h.eps);
    foreachAddcdiv_(params, expAvg, denom, -h.lr / biasCorrection1);
  }
}

export class Adam extends AdamFamily {
  constructor(params: readonly Tensor[] | readonly ParamGroupSpec<AdamOptions>[], options: Partial<AdamOptions> & OptimizerSettings = {}) {
    const { foreach, ...hyper } = options;
    super('adam', params, { ...ADAM_DEFAULTS, ...hyper }, { foreach });
  }

  protected override updateParam(param: Tensor, grad: Tensor, state: ParamState, group: ParamGroup<AdamOptions>): void {
    const g = group.weightDecay !== 0 ? grad.add(param, group.weightDecay) : grad;
    this.momentStep(param, g, state, group);
  }

  protected override updateBatch(batch: ParamBatch, group: ParamGroup<AdamOptions>): void {
    const gs = group.weightDecay !== 0 ? foreachAdd(batch.grads, batch.params, group.weightDecay) : batch.grads;
    this.momentStepBatch(batch, gs, group);
  }
}
