// Proxy-Anchor loss (Kim et al., CVPR 2020). One learnable proxy p per class; s(x, p) is the
// cosine similarity. With P+ the proxies of classes present in the batch, X_p+ the batch samples
// of p's class and X_p- the others:
//   loss = 1/|P+| Σ_{p∈P+} log(1 + Σ_{x∈X_p+} exp(-alpha (s(x,p) - delta)))
//        + 1/|P|  Σ_{p∈P}  log(1 + Σ_{x∈X_p-} exp( alpha (s(x,p) + delta)))
//
// Paper defaults: alpha 32, delta 0.1. Proxies start from a Kaiming normal draw (std √(2/C)) and
// train at 100x the base learning rate, as in the authors' setup.
import { F, tidy, type Tensor } from '../../torch/index.js';
import { checkBatch } from '../labels.js';
import { oneHot } from '../ops.js';
import type { DmlLoss, LearningRate, ParameterGroup, ParameterPlacement } from './loss.js';
import { checkClassLabels, checkPositiveInteger, normalParameter } from './parameters.js';
import { logOnePlusSumExp } from './reduce.js';

export interface ProxyAnchorOptions extends ParameterPlacement {
  numClasses: number;
  embeddingDim: number;
  /** Scale (32). */
  alpha?: number;
  /** Margin (0.1). */
  delta?: number;
  /** Default: 100 x the base rate. */
  proxyLearningRate?: LearningRate;
}

export class ProxyAnchorLoss implements DmlLoss {
  readonly name = 'proxyanchor';
  readonly numClasses: number;
  readonly alpha: number;
  readonly delta: number;
  readonly proxyLearningRate: LearningRate;
  /** [numClasses, embeddingDim] */
  readonly proxies: Tensor;

  constructor(options: ProxyAnchorOptions) {
    checkPositiveInteger('proxyanchor', 'numClasses', options.numClasses);
    checkPositiveInteger('proxyanchor', 'embeddingDim', options.embeddingDim);
    this.numClasses = options.numClasses;
    this.alpha = options.alpha ?? 32;
    this.delta = options.delta ?? 0.1;
    this.proxyLearningRate = options.proxyLearningRate ?? { kind: 'scale', factor: 100 };
    this.proxies = normalParameter([options.numClasses, options.embeddingDim], Math.sqrt(2 / options.numClasses), options);
  }

  compute(embeddings: Tensor, labels: Tensor): Tensor {
    checkBatch('proxyanchor', embeddings, labels);
    checkClassLabels('proxyanchor', labels, this.numClasses);
    return tidy(() => {
      const similarity = F.l2Normalize(embeddings, 1).mm(F.l2Normalize(this.proxies, 1).t()); // [B, C]
      const positive = oneHot(labels, this.numClasses).gt(0);
      const negative = positive.logicalNot();
      const positiveTerms = logOnePlusSumExp(similarity.sub(this.delta).mul(-this.alpha), positive, 0); // [C]
      const negativeTerms = logOnePlusSumExp(similarity.add(this.delta).mul(this.alpha), negative, 0);
      const proxiesWithPositives = positive.sum(0).gt(0).sum().item();
      return positiveTerms.sum().div(Math.max(proxiesWithPositives, 1)).add(negativeTerms.sum().div(this.numClasses));
    });
  }

  parameters(): Tensor[] {
    return [this.proxies];
  }
  parameterGroups(): ParameterGroup[] {
    return [{ name: 'proxyanchor.proxies', params: [this.proxies], learningRate: this.proxyLearningRate }];
  }
  dispose(): void {
    this.proxies.dispose();
  }
}
