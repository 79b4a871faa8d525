// c2f2: the small network of the adversarial-ranking literature for 28x28 grey images (RobRank's
// Fashion-MNIST setting): two 5x5 convolutions (32 and 64 channels, padding 2) each followed by
// ReLU and 2x2 max-pooling, then a 1024-wide fully connected layer with ReLU. The embedding model
// adds the last fully connected layer (the `fc` head, 1024 -> D), so the whole is RobRank's
// conv-conv-fc-fc. It has no batch norm: methods that route BN branches train it with one set of
// weights for every distribution.
// c2f2-bn is the same network with a batch norm after each of its three hidden layers (conv1,
// conv2, fc1; before the ReLU), so that a method's BN branches exist: the fc1 norm is a
// BatchNorm2d over the [N, 1024, 1, 1] view, which is BatchNorm1d's computation, and is branched
// like the others.
import { tidy, type Tensor } from '../torch/index.js';
import { BatchNorm2d } from './batchnorm.js';
import { Conv2d } from './conv.js';
import { Flatten, MaxPool2d, ReLU } from './layers.js';
import { Linear } from './linear.js';
import { Module } from './module.js';
import type { FeatureExtractor } from './resnet.js';

export const C2F2 = {
  /** Input side the flattened size is fixed for: two halvings take 28 to 7. */
  side: 28,
  conv1: 32,
  conv2: 64,
  kernel: 5,
  hidden: 1024,
} as const;

/** Child names in forward order (state-dict keys conv1.*, conv2.*, fc1.*; with batch norms also bn1-3.*). */
export const C2F2_ORDER = ['conv1', 'relu1', 'pool1', 'conv2', 'relu2', 'pool2', 'flatten', 'fc1', 'relu3'] as const;
export const C2F2_BN_ORDER = ['conv1', 'bn1', 'relu1', 'pool1', 'conv2', 'bn2', 'relu2', 'pool2', 'flatten', 'fc1', 'toMap', 'bn3', 'relu3'] as const;

/** [N, C] -> [N, C, 1, 1], so a BatchNorm2d normalises a fully connected layer's outputs. */
export class ToMap extends Module {
  forward(x: Tensor): Tensor {
    return x.reshape([x.shape[0]!, x.shape[1]!, 1, 1]);
  }
}

export class C2f2Backbone extends Module implements FeatureExtractor {
  readonly featureDim = C2F2.hidden;
  /** Child names in the order forward applies them (the ONNX exporter walks the same list). */
  readonly order: readonly string[];

  constructor(
    readonly inChannels = 1,
    readonly batchNorm = false,
  ) {
    super();
    const flat = C2F2.conv2 * (C2F2.side / 4) ** 2;
    this.registerModule('conv1', new Conv2d(inChannels, C2F2.conv1, C2F2.kernel, { padding: 2 }));
    if (batchNorm) this.registerModule('bn1', new BatchNorm2d(C2F2.conv1));
    this.registerModule('relu1', new ReLU());
    this.registerModule('pool1', new MaxPool2d(2, { stride: 2 }));
    this.registerModule('conv2', new Conv2d(C2F2.conv1, C2F2.conv2, C2F2.kernel, { padding: 2 }));
    if (batchNorm) this.registerModule('bn2', new BatchNorm2d(C2F2.conv2));
    this.registerModule('relu2', new ReLU());
    this.registerModule('pool2', new MaxPool2d(2, { stride: 2 }));
    this.registerModule('flatten', new Flatten());
    this.registerModule('fc1', new Linear(flat, C2F2.hidden));
    if (batchNorm) {
      this.registerModule('toMap', new ToMap());
      this.registerModule('bn3', new BatchNorm2d(C2F2.hidden));
    }
    this.registerModule('relu3', new ReLU());
    this.order = batchNorm ? C2F2_BN_ORDER : C2F2_ORDER;
  }

  /** Features as a 1x1 map [N, 1024, 1, 1], so the embedding model's global pooling passes them through. */
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels || x.shape[2] !== C2F2.side || x.shape[3] !== C2F2.side) {
      const name = this.batchNorm ? 'c2f2-bn' : 'c2f2';
      throw new Error(`${name}: expected images [N, ${this.inChannels}, ${C2F2.side}, ${C2F2.side}], got [${x.shape.join(', ')}]`);
    }
    return tidy(() => this.order.reduce((h, name) => this.child<Module>(name).forward(h), x).reshape([-1, C2F2.hidden, 1, 1]));
  }
}
