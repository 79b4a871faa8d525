// Fully connected layer y = x W^T + b (weight [out, in], bias [out]).
import { empty, F, type DType, type Tensor } from '../torch/index.js';
import { defaultLayerInit_ } from './init.js';
import { Module } from './module.js';
import { WeightCasts } from './weight-cast.js';

export interface LinearOptions {
  bias?: boolean;
}

export class Linear extends Module {
  readonly hasBias: boolean;
  /**
   * The dtype the product runs in and returns (see precision.ts); null: the input's. The float32
   * weights are cast to it once per change of their values.
   */
  get computeDtype(): DType | null {
    return this.#computeDtype;
  }
  set computeDtype(dtype: DType | null) {
    this.#computeDtype = dtype;
    this.#casts.clear();
  }
  #computeDtype: DType | null = null;
  readonly #casts = new WeightCasts();

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
    if (dt === null) return F.linear(x, this.weight, this.bias);
    const input = x.dtype === dt ? x : x.to(dt);
    const out = F.linear(input, this.#casts.get('weight', this.weight, dt), this.bias && this.#casts.get('bias', this.bias, dt));
    if (input !== x) input.dispose();
    return out;
  }

  /** Makes the cast copies of the weights in the graph now (see WeightCasts.prepare). */
  prepareCasts(): void {
    this.#casts.prepare();
  }

  protected override releaseDerived(): void {
    this.#casts.clear();
  }
}
