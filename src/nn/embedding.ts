// The metric-learning model: backbone -> global average pool -> linear head -> L2 normalisation.
// The head is named `fc` and the backbone is inlined, so the keys are torchvision's (conv1, ...,
// fc.weight, fc.bias) with fc resized to the embedding dimension.
import { F, tidy, type Tensor } from '../torch/index.js';
import { AdaptiveAvgPool2d } from './layers.js';
import { Linear } from './linear.js';
import { Module } from './module.js';
import { fullPrecision } from './precision.js';
import { globalAvgPool, type FeatureExtractor } from './resnet.js';

export interface EmbeddingOutput {
  /** Unit-length embeddings [N, D]: what retrieval and the DML losses use. */
  embedding: Tensor;
  /** The head's output before normalisation [N, D]. */
  projection: Tensor;
  /** Pooled backbone features [N, featureDim], before the head. */
  features: Tensor;
}

export class EmbeddingModel extends Module {
  constructor(
    backbone: FeatureExtractor,
    readonly embedDim: number,
  ) {
    super();
    if (!Number.isInteger(embedDim) || embedDim < 1) throw new Error(`EmbeddingModel: embedDim must be a positive integer, got ${embedDim}`);
    this.registerModule('', backbone);
    this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.registerModule('fc', new Linear(backbone.featureDim, embedDim));
  }

  get backbone(): FeatureExtractor {
    return this.child<FeatureExtractor>('');
  }

  get head(): Linear {
    return this.child<Linear>('fc');
  }

  /** L2-normalised embeddings [N, D]. */
  forward(x: Tensor): Tensor {
    return tidy(() => this.forwardAll(x).embedding);
  }

  /**
   * The embedding with what precedes it: the un-normalised head output and the pooled features.
   * All three are float32 whatever the layers compute in (see precision.ts).
   */
  forwardAll(x: Tensor): EmbeddingOutput {
    return tidy(() => {
      const pooled = globalAvgPool(this.child('avgpool'), this.backbone.forward(x));
      const projection = fullPrecision(this.head.forward(pooled));
      return { embedding: F.l2Normalize(projection, 1), projection, features: fullPrecision(pooled) };
    });
  }
}
