// 2-D convolution with PyTorch's parameter names (weight [out, in/groups, kh, kw], bias [out]).
import { empty, F, tidy, type DType, type MemoryFormat, type Tensor } from '../torch/index.js';
import { defaultLayerInit_ } from './init.js';
import { Module } from './module.js';

export type Pair = number | [number, number];

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  /** Add a learned bias (default true; ResNets turn it off before a batch norm). */
  bias?: boolean;
}

export class Conv2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: Pair;
  readonly padding: Pair;
  readonly dilation: Pair;
  readonly groups: number;
  readonly hasBias: boolean;
  /** The dtype the convolution runs in (weights stay float32; see precision.ts); null: the input's. */
  computeDtype: DType | null = null;
  /** The memory format the convolution takes its input in (see precision.ts). */
  memoryFormat: MemoryFormat = 'contiguous';

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    options: Conv2dOptions = {},
  ) {
    super();
    this.kernelSize = pair(kernelSize);
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 0;
    this.dilation = options.dilation ?? 1;
    this.groups = options.groups ?? 1;
    if (inChannels % this.groups || outChannels % this.groups) {
      throw new Error(`Conv2d: channels ${inChannels} -> ${outChannels} are not divisible by groups ${this.groups}`);
    }
    const weight = empty([outChannels, inChannels / this.groups, ...this.kernelSize]);
    this.hasBias = options.bias ?? true;
    const bias = this.hasBias ? empty([outChannels]) : null;
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
    const options = { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups };
    // A no-op once the input is channels-last: libtorch keeps the format through the layers that follow.
    const input = this.memoryFormat === 'channels_last' ? x.contiguous('channels_last') : x;
    const dt = this.computeDtype;
    if (dt === null || dt === x.dtype) return F.conv2d(input, this.weight, this.bias, options);
    return tidy(() => F.conv2d(input.to(dt), this.weight.to(dt), this.bias?.to(dt) ?? null, options).to(x.dtype));
  }
}

function pair(p: Pair): [number, number] {
  return typeof p === 'number' ? [p, p] : p;
}
