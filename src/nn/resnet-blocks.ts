// The two residual blocks of torchvision's ResNets, with its child names (conv1, bn1, ...,
// downsample.0 / downsample.1) so their state-dict keys match.
import { tidy, type Tensor } from '../torch/index.js';
import { BatchNorm2d } from './batchnorm.js';
import { Conv2d } from './conv.js';
import { ReLU, reluInPlace, Sequential } from './layers.js';
import { Module } from './module.js';

export type BlockKind = 'basic' | 'bottleneck';

/** Output channels per unit of block width: a bottleneck widens 4x at its end. */
export const EXPANSION: Record<BlockKind, number> = { basic: 1, bottleneck: 4 };

/** 1x1 convolution + BN that matches the shortcut to the block's output shape. */
function projection(inChannels: number, outChannels: number, stride: number): Sequential {
  return new Sequential(new Conv2d(inChannels, outChannels, 1, { stride, bias: false }), new BatchNorm2d(outChannels));
}

export abstract class ResidualBlock extends Module {
  protected constructor(readonly hasProjection: boolean) {
    super();
  }

  protected layer(name: string): Module {
    return this.child<Module>(name);
  }

  /** The residual branch, without the final ReLU. */
  protected abstract branch(x: Tensor): Tensor;

  forward(x: Tensor): Tensor {
    return tidy(() => {
      const shortcut = this.hasProjection ? this.layer('downsample').forward(x) : x;
      // The branch ends in a fresh batch-norm output, so the sum and ReLU can overwrite it.
      return reluInPlace(this.branch(x).add_(shortcut));
    });
  }
}

/** Two 3x3 convolutions (ResNet-18/34); the first carries the stride. */
export class BasicBlock extends ResidualBlock {
  constructor(inChannels: number, width: number, stride = 1) {
    const outChannels = width * EXPANSION.basic;
    super(stride !== 1 || inChannels !== outChannels);
    this.registerModule('conv1', new Conv2d(inChannels, width, 3, { stride, padding: 1, bias: false }));
    this.registerModule('bn1', new BatchNorm2d(width));
    this.registerModule('relu', new ReLU(true));
    this.registerModule('conv2', new Conv2d(width, width, 3, { padding: 1, bias: false }));
    this.registerModule('bn2', new BatchNorm2d(width));
    if (this.hasProjection) this.registerModule('downsample', projection(inChannels, outChannels, stride));
  }

  protected branch(x: Tensor): Tensor {
    const h = this.layer('relu').forward(this.layer('bn1').forward(this.layer('conv1').forward(x)));
    return this.layer('bn2').forward(this.layer('conv2').forward(h));
  }
}

/** 1x1 reduce, 3x3 (with the stride, as torchvision's "ResNet v1.5"), 1x1 expand (ResNet-50). */
export class Bottleneck extends ResidualBlock {
  constructor(inChannels: number, width: number, stride = 1) {
    const outChannels = width * EXPANSION.bottleneck;
    super(stride !== 1 || inChannels !== outChannels);
    this.registerModule('conv1', new Conv2d(inChannels, width, 1, { bias: false }));
    this.registerModule('bn1', new BatchNorm2d(width));
    this.registerModule('conv2', new Conv2d(width, width, 3, { stride, padding: 1, bias: false }));
    this.registerModule('bn2', new BatchNorm2d(width));
    this.registerModule('conv3', new Conv2d(width, outChannels, 1, { bias: false }));
    this.registerModule('bn3', new BatchNorm2d(outChannels));
    this.registerModule('relu', new ReLU(true));
    if (this.hasProjection) this.registerModule('downsample', projection(inChannels, outChannels, stride));
  }

  protected branch(x: Tensor): Tensor {
    const relu = this.layer('relu');
    let h = relu.forward(this.layer('bn1').forward(this.layer('conv1').forward(x)));
    h = relu.forward(this.layer('bn2').forward(this.layer('conv2').forward(h)));
    return this.layer('bn3').forward(this.layer('conv3').forward(h));
  }
}

export function makeBlock(kind: BlockKind, inChannels: number, width: number, stride: number): ResidualBlock {
  return kind === 'basic' ? new BasicBlock(inChannels, width, stride) : new Bottleneck(inChannels, width, stride);
}
