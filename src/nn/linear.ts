// Fully connected layer y = x W^T + b (weight [out, in], bias [out]).
import { empty, F, tidy, type DType, type Tensor } from '../torch/index.js';
import { defaultLayerInit_ } from './init.js';
import { Module } from './module.js';

export interface LinearOptions {
  bias?: boolean;
}

export class Linear extends Module {
  readonly hasBias: boolean;
  /** The dtype the product runs in (weights stay float32; see precision.ts); null: the input's. */
  computeDtype: DType | null = null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super();
    this.hasBias = options.bias ?? true;
    const weight = empty([outFeatures, inFeatures]);
    const bias = this.hasBias ? empty([outFeatures]) : null;
    defaultLayerInit_(weight, bias);
    this.registerParameter('weight', weight);
    if (bias) this.registerParameter('bias', bias);
  }

  get weight(): Tensor {
    return this.param('weight');
  }

  get bias(): Tensor | null {
    return this.hasBias ? this.param('bias') : null;
  }

  forward(x: Tensor): Tensor {
    const dt = this.computeDtype;
    if (dt === null || dt === x.dtype) return F.linear(x, this.weight, this.bias);
    return tidy(() => F.linear(x.to(dt), this.weight.to(dt), this.bias?.to(dt) ?? null).to(x.dtype));
  }
}
