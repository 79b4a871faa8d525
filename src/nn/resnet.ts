// ResNet trunks (everything before global pooling) and the torchvision-compatible classifier.
// Parameter names, shapes and order equal torchvision's resnet18/34/50, so its checkpoints
// converted to safetensors load unchanged.
import { tidy, type Tensor } from '../torch/index.js';
import { BatchNorm2d } from './batchnorm.js';
import { Conv2d } from './conv.js';
import { constant_, kaimingNormal_ } from './init.js';
import { AdaptiveAvgPool2d, MaxPool2d, ReLU, Sequential } from './layers.js';
import { Linear } from './linear.js';
import { Module } from './module.js';
import { fullPrecision } from './precision.js';
import { EXPANSION, makeBlock, type BlockKind } from './resnet-blocks.js';

export interface ResNetSpec {
  block: BlockKind;
  /** Blocks per stage; stage i is child `layer${i + 1}`. */
  blocks: readonly number[];
  /** Block width per stage (output channels are width * expansion). */
  widths: readonly number[];
  /**
   * 'imagenet': 7x7 stride-2 convolution to 64 channels, then 3x3 stride-2 max-pool (224x224 input).
   * 'small': 3x3 stride-1 convolution to widths[0] channels and no pooling (28x28 or 32x32 input).
   */
  stem: 'imagenet' | 'small';
  inChannels: number;
}

export const RESNET_SPECS = {
  resnet18: { block: 'basic', blocks: [2, 2, 2, 2], widths: [64, 128, 256, 512], stem: 'imagenet', inChannels: 3 },
  resnet34: { block: 'basic', blocks: [3, 4, 6, 3], widths: [64, 128, 256, 512], stem: 'imagenet', inChannels: 3 },
  resnet50: { block: 'bottleneck', blocks: [3, 4, 6, 3], widths: [64, 128, 256, 512], stem: 'imagenet', inChannels: 3 },
  /**
   * For 28x28 / 32x32 images: three stages of two basic blocks, widths 32-64-128, strides 1-2-2,
   * so a 32x32 input ends as 8x8x128 (28x28 as 7x7x128). About 0.7M parameters: small enough to
   * train on a CPU in minutes, deep enough (13 conv layers) for a useful embedding.
   */
  'resnet-small': { block: 'basic', blocks: [2, 2, 2], widths: [32, 64, 128], stem: 'small', inChannels: 3 },
} as const satisfies Record<string, ResNetSpec>;

export type ResNetArch = keyof typeof RESNET_SPECS;

/** A feature extractor: forward maps images to a feature map [N, featureDim, H, W]. */
export interface FeatureExtractor extends Module {
  readonly featureDim: number;
}

/** Stem and residual stages: conv1, bn1, relu, [maxpool], layer1 ... layerK. */
export class ResNetBackbone extends Module implements FeatureExtractor {
  readonly featureDim: number;
  readonly stages: number;

  constructor(readonly spec: ResNetSpec) {
    super();
    if (spec.blocks.length !== spec.widths.length || spec.blocks.length === 0) {
      throw new Error(`ResNet: blocks [${spec.blocks.join(', ')}] and widths [${spec.widths.join(', ')}] must be non-empty and equally long`);
    }
    const imagenet = spec.stem === 'imagenet';
    const stemWidth = imagenet ? 64 : spec.widths[0]!;
    this.registerModule('conv1', new Conv2d(spec.inChannels, stemWidth, imagenet ? 7 : 3, {
      stride: imagenet ? 2 : 1,
      padding: imagenet ? 3 : 1,
      bias: false,
    }));
    this.registerModule('bn1', new BatchNorm2d(stemWidth));
    this.registerModule('relu', new ReLU(true));
    if (imagenet) this.registerModule('maxpool', new MaxPool2d(3, { stride: 2, padding: 1 }));
    let channels = stemWidth;
    spec.blocks.forEach((count, stage) => {
      const width = spec.widths[stage]!;
      const blocks = [];
      for (let i = 0; i < count; i++) {
        blocks.push(makeBlock(spec.block, channels, width, i === 0 && stage > 0 ? 2 : 1));
        channels = width * EXPANSION[spec.block];
      }
      this.registerModule(`layer${stage + 1}`, new Sequential(...blocks));
    });
    this.featureDim = channels;
    this.stages = spec.blocks.length;
    initResNet(this);
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.spec.inChannels) {
      throw new Error(`ResNet: expected images [N, ${this.spec.inChannels}, H, W], got [${x.shape.join(', ')}]`);
    }
    const names = ['conv1', 'bn1', 'relu', ...(this.spec.stem === 'imagenet' ? ['maxpool'] : [])];
    for (let i = 1; i <= this.stages; i++) names.push(`layer${i}`);
    return tidy(() => names.reduce((h, name) => this.child<Module>(name).forward(h), x));
  }
}

/** torchvision's ResNet init: convs kaiming-normal (fan_out, ReLU gain), BN scale 1 and shift 0. */
function initResNet(root: Module): void {
  for (const [, m] of root.namedModules()) {
    if (m instanceof Conv2d) kaimingNormal_(m.weight, 0, 'fan_out');
    else if (m instanceof BatchNorm2d) {
      if (m.weight) constant_(m.weight, 1);
      if (m.bias) constant_(m.bias, 0);
    }
  }
}

/** Global average pooling to [N, C]. */
export function globalAvgPool(pool: Module, featureMap: Tensor): Tensor {
  return tidy(() => pool.forward(featureMap).flatten(1));
}

/** The classifier torchvision builds: backbone, avgpool, fc (logits). */
export class ResNet extends Module {
  constructor(
    backbone: ResNetBackbone,
    readonly numClasses = 1000,
  ) {
    super();
    this.registerModule('', backbone); // inline: keys stay conv1..., not backbone.conv1...
    this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.registerModule('fc', new Linear(backbone.featureDim, numClasses));
  }

  get backbone(): ResNetBackbone {
    return this.child<ResNetBackbone>('');
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      const pooled = globalAvgPool(this.child('avgpool'), this.backbone.forward(x));
      return fullPrecision(this.child<Module>('fc').forward(pooled));
    });
  }
}

export function resnet(arch: ResNetArch, options: { numClasses?: number; inChannels?: number } = {}): ResNet {
  const spec = { ...RESNET_SPECS[arch], inChannels: options.inChannels ?? RESNET_SPECS[arch].inChannels };
  return new ResNet(new ResNetBackbone(spec), options.numClasses);
}
