// Parameter-free layers: activations, pooling, reshaping, and the Sequential container.
import { F, isReducedFloat, tidy, type Tensor } from '../torch/index.js';
import { Module } from './module.js';
import type { Pair } from './conv.js';

/**
 * max(x, 0) in place. For bfloat16 and float16 activations through libtorch's threshold kernel,
 * which gives the same values (NaN kept) and gradient and is about twice as fast as relu_'s there.
 */
export function reluInPlace(x: Tensor): Tensor {
  return isReducedFloat(x.dtype) ? x.threshold_(0, 0) : x.relu_();
}

export class ReLU extends Module {
  /**
   * inplace overwrites the input (torchvision's ReLU(inplace=True)): one activation-sized buffer
   * less per layer, for inputs that nothing else reads, such as a batch norm's fresh output.
   */
  constructor(readonly inplace = false) {
    super();
  }
  forward(x: Tensor): Tensor {
    if (this.inplace) return reluInPlace(x);
    return isReducedFloat(x.dtype) ? x.threshold(0, 0) : x.relu();
  }
}

export class Identity extends Module {
  /** Returns the input itself (no copy): callers must not dispose it twice. */
  forward(x: Tensor): Tensor {
    return x;
  }
}

export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
}

export interface MaxPool2dOptions {
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
}

export class MaxPool2d extends Module {
  constructor(
    readonly kernelSize: Pair,
    readonly options: MaxPool2dOptions = {},
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernelSize, this.options);
  }
}

export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Pair) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.adaptiveAvgPool2d(x, this.outputSize);
  }
}

/** Children named '0', '1', ... applied in order, as torch.nn.Sequential. */
export class Sequential extends Module {
  constructor(...layers: Module[]) {
    super();
    layers.forEach((layer, i) => this.registerModule(String(i), layer));
  }

  get length(): number {
    return this.namedChildren().length;
  }

  at(index: number): Module {
    return this.child(String(index));
  }

  forward(x: Tensor): Tensor {
    const layers = this.namedChildren().map(([, m]) => m as Module);
    // Intermediate results are freed on return; autograd keeps what backward needs natively.
    return tidy(() => layers.reduce((h, layer) => layer.forward(h), x));
  }
}
