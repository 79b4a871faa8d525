// 2-D convolution with PyTorch's parameter names (weight [out, in/groups, kh, kw], bias [out]).
import { empty, F, type DType, type MemoryFormat, type Tensor } from '../torch/index.js';
import { convolutionAsMatmul, matmulShape, matmulUnits, type ConvAlgorithm, type ConvGeometry } from './conv-matmul.js';
import { defaultLayerInit_ } from './init.js';
import { Module } from './module.js';
import { WeightCasts } from './weight-cast.js';

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
  /**
   * The dtype the convolution runs in and returns (see precision.ts); null: the input's. The
   * float32 weights are cast to it once per change of their values.
   */
  get computeDtype(): DType | null {
    return this.#computeDtype;
  }
  set computeDtype(dtype: DType | null) {
    this.#computeDtype = dtype;
    this.#casts.clear();
  }
  /**
   * The memory format the convolution takes its input in (see precision.ts). The float32 weight
   * takes it too, as PyTorch's `model.to(memory_format=...)` does: the gradient arrives in it, so
   * no copy is made to accumulate it, and its cast copy is a plain cast.
   */
  get memoryFormat(): MemoryFormat {
    return this.#memoryFormat;
  }
  set memoryFormat(format: MemoryFormat) {
    if (format === this.#memoryFormat) return;
    this.#memoryFormat = format;
    this.weight.setMemoryFormat_(format);
    this.#casts.clear();
  }
  /**
   * How a 16-bit convolution is computed (conv-matmul.ts): 'auto' takes a matrix product for the
   * shapes measured faster that way, on a CPU with AMX-BF16, channels-last. float32 always runs
   * libtorch's convolution.
   */
  algorithm: ConvAlgorithm = 'auto';
  #memoryFormat: MemoryFormat = 'contiguous';
  #computeDtype: DType | null = null;
  readonly #casts = new WeightCasts();

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
    const dt = this.computeDtype;
    if (dt === null) {
      // A no-op once the input is channels-last: libtorch keeps the format through the layers that follow.
      const input = this.memoryFormat === 'channels_last' ? x.contiguous('channels_last') : x;
      return F.conv2d(input, this.weight, this.bias, options);
    }
    // Mixed precision: the input is cast once, where it enters (the images); activations arrive in dt.
    const format = this.memoryFormat === 'channels_last' ? 'channels_last' : undefined;
    const input = x.dtype !== dt ? x.to(dt, format) : format ? x.contiguous(format) : x;
    const bias = this.bias && this.#casts.get('bias', this.bias, dt);
    const out = this.#asMatmul(input)
      ? // The flattened weight needs the contiguous [O, C, kh, kw] order: a cast of its own.
        convolutionAsMatmul(input, this.#casts.get('matrix', this.weight, dt, 'contiguous').view([this.outChannels, -1]), bias, this.geometry)
      : F.conv2d(input, this.#casts.get('weight', this.weight, dt, format), bias, options);
    if (input !== x) input.dispose(); // autograd keeps what backward needs
    return out;
  }

  /** Kernel, stride, padding, dilation and groups as pairs. */
  get geometry(): ConvGeometry {
    return { kernel: this.kernelSize, stride: pair(this.stride), padding: pair(this.padding), dilation: pair(this.dilation), groups: this.groups };
  }

  #asMatmul(input: Tensor): boolean {
    if (this.algorithm === 'convolution' || this.groups !== 1) return false;
    if (this.algorithm === 'matmul') return true;
    return this.#memoryFormat === 'channels_last' && input.device === 'cpu' && matmulUnits() && matmulShape(this.geometry, input.shape, this.outChannels);
  }

  /** Makes the cast copies of the weights in the graph now (see WeightCasts.prepare). */
  prepareCasts(): void {
    this.#casts.prepare();
  }

  protected override releaseDerived(): void {
    this.#casts.clear();
  }
}

function pair(p: Pair): [number, number] {
  return typeof p === 'number' ? [p, p] : p;
}
