// ArcFace, additive angular margin loss (Deng et al., CVPR 2019).
// The loss owns one learnable proxy W_c per class. With x and W_c L2-normalised,
// cos θ_c = <x, W_c>; the logit of the true class y becomes s · cos(θ_y + m) and the others stay
// s · cos θ_c; the loss is the softmax cross-entropy, averaged over the batch.
// cos(θ + m) stops decreasing once θ + m > π; beyond that (cos θ < cos(π - m)) the target logit
// is s · (cos θ - m · sin m), the linear continuation used by the authors' implementation.
//
// Paper defaults: scale s 64, margin m 0.5 rad. Proxies start U(-1/√D, 1/√D) and train with
// their own learning rate (default absolute 5e-4, the "Revisiting DML" benchmark value).
import { F, tidy, where, type Tensor } from '../../torch/index.js';
import { checkBatch } from '../labels.js';
import { oneHot } from '../ops.js';
import type { DmlLoss, LearningRate, ParameterGroup, ParameterPlacement } from './loss.js';
import { checkClassLabels, checkPositiveInteger, uniformParameter } from './parameters.js';

export interface ArcFaceOptions extends ParameterPlacement {
  numClasses: number;
  embeddingDim: number;
  /** s (64). */
  scale?: number;
  /** m in radians (0.5). */
  margin?: number;
  /** Default absolute 5e-4. */
  proxyLearningRate?: LearningRate;
}

// Keeps acos away from ±1, where its derivative is infinite.
const COSINE_LIMIT = 1 - 1e-7;

export class ArcFaceLoss implements DmlLoss {
  readonly name = 'arcface';
  readonly numClasses: number;
  readonly scale: number;
  readonly margin: number;
  readonly proxyLearningRate: LearningRate;
  /** [numClasses, embeddingDim] */
  readonly proxies: Tensor;

  constructor(options: ArcFaceOptions) {
    checkPositiveInteger('arcface', 'numClasses', options.numClasses);
    checkPositiveInteger('arcface', 'embeddingDim', options.embeddingDim);
    this.numClasses = options.numClasses;
    this.scale = options.scale ?? 64;
    this.margin = options.margin ?? 0.5;
    this.proxyLearningRate = options.proxyLearningRate ?? { kind: 'absolute', value: 5e-4 };
    this.proxies = uniformParameter([options.numClasses, options.embeddingDim], 1 / Math.sqrt(options.embeddingDim), options);
  }

  /** The scaled logits [B, C] with the margin applied to each true class. */
  logits(embeddings: Tensor, labels: Tensor): Tensor {
    return tidy(() => {
      const cosine = F.l2Normalize(embeddings, 1).mm(F.l2Normalize(this.proxies, 1).t()).clamp(-COSINE_LIMIT, COSINE_LIMIT);
      const target = cosine.gather(1, labels.unsqueeze(1)); // [B, 1]
      const m = this.margin;
      const withMargin = target.acos().add(m).cos();
      const linear = target.sub(m * Math.sin(m));
      const marginTarget = where(target.gt(Math.cos(Math.PI - m)), withMargin, linear);
      const pick = oneHot(labels, this.numClasses).to(cosine.dtype);
      return cosine.add(pick.mul(marginTarget.sub(target))).mul(this.scale);
    });
  }

  compute(embeddings: Tensor, labels: Tensor): Tensor {
    checkBatch('arcface', embeddings, labels);
    checkClassLabels('arcface', labels, this.numClasses);
    return tidy(() => F.crossEntropy(this.logits(embeddings, labels), labels.to('int64')));
  }

  parameters(): Tensor[] {
    return [this.proxies];
  }
  parameterGroups(): ParameterGroup[] {
    return [{ name: 'arcface.proxies', params: [this.proxies], learningRate: this.proxyLearningRate }];
  }
  dispose(): void {
    this.proxies.dispose();
  }
}
