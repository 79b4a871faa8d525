// S2SD-style multi-dimensional similarity distillation (Roth et al., "Simultaneous Similarity-
// based Self-Distillation for Deep Metric Learning", ICML 2021), as an option over a base loss.
//
// What is implemented (multi-dimensional self-distillation, plus the optional feature distillation):
// - K auxiliary heads g_k: two-layer MLPs (Linear F->t_k, ReLU, Linear t_k->t_k) on the backbone's
//   pooled features (context.features), giving L2-normalised embeddings of higher dimensions t_k.
// - Each head is trained with its own instance of the base loss (its own proxies/margins).
// - Similarity matrices: S = e e^T (cosine) for the base embedding e and S_k for each head.
//   Distillation: KL(softmax(S_k / T) || softmax(S / T)) row-wise, summed over rows, times T²,
//   divided by B; the heads' matrices are targets (no gradient flows into them through it).
// - loss = (L_base(e) + mean_k L_base(g_k)) / 2 + weight · mean_k KL_k
// - Optional feature distillation: after `delaySteps` calls, + featureWeight · KL of the
//   (detached) normalised features' similarity matrix against S.
// Not implemented: the paper's max+avg pooled feature aggregation (the trainer passes whatever
// pooled features it has). At test time only the base embedding is used; heads are training aids.
//
// Defaults (the authors' published settings): target dims 512, 1024, 1536, 2048; temperature 1;
// weight 50; feature distillation off (weight 50, delay 1000 steps when on).
import { F, tidy, type Tensor } from '../../torch/index.js';
import { checkBatch } from '../labels.js';
import { allParameters, type DmlLoss, type LossContext, type ParameterGroup, type ParameterPlacement } from './loss.js';
import { checkPositiveInteger, uniformParameter } from './parameters.js';

export interface S2sdOptions extends ParameterPlacement {
  /** Width F of the backbone features the heads read (ResNet-50 pooled: 2048). */
  featureDim: number;
  /** Output dimensions of the auxiliary heads (512, 1024, 1536, 2048). */
  targetDims?: number[];
  /** Softmax temperature T (1). */
  temperature?: number;
  /** Weight of the similarity distillation (50). */
  weight?: number;
  /** Feature-space distillation; null or absent: off. */
  featureDistillation?: { weight?: number; delaySteps?: number } | null;
}

/** Builds one instance of the base loss for embeddings of the given dimension. */
export type BaseLossFactory = (embeddingDim: number) => DmlLoss;

interface Head {
  w1: Tensor;
  b1: Tensor;
  w2: Tensor;
  b2: Tensor;
  loss: DmlLoss;
}

function linearParameters(inputs: number, outputs: number, placement: ParameterPlacement): { weight: Tensor; bias: Tensor } {
  // PyTorch's Linear default: U(-1/√fan_in, 1/√fan_in) for weight and bias.
  const bound = 1 / Math.sqrt(inputs);
  return { weight: uniformParameter([outputs, inputs], bound, placement), bias: uniformParameter([outputs], bound, placement) };
}

/** KL(softmax(target/T) || softmax(source/T)) summed over rows, times T², over the row count. */
export function similarityDistillation(source: Tensor, target: Tensor, temperature: number): Tensor {
  return tidy(() => {
    const logSource = F.logSoftmax(source.div(temperature), 1);
    const logTarget = F.logSoftmax(target.detach().div(temperature), 1);
    return logTarget.exp().mul(logTarget.sub(logSource)).sum().mul(temperature * temperature / source.size(0));
  });
}

export class S2sdLoss implements DmlLoss {
  readonly name: string;
  readonly temperature: number;
  readonly weight: number;
  readonly featureWeight: number;
  readonly featureDelaySteps: number;
  readonly featureDistillation: boolean;
  readonly base: DmlLoss;
  readonly #heads: Head[];
  #steps = 0;

  constructor(baseFactory: BaseLossFactory, embeddingDim: number, options: S2sdOptions) {
    checkPositiveInteger('s2sd', 'featureDim', options.featureDim);
    this.temperature = options.temperature ?? 1;
    this.weight = options.weight ?? 50;
    this.featureDistillation = options.featureDistillation != null;
    this.featureWeight = options.featureDistillation?.weight ?? 50;
    this.featureDelaySteps = options.featureDistillation?.delaySteps ?? 1000;
    this.base = baseFactory(embeddingDim);
    this.name = `s2sd(${this.base.name})`;
    const targetDims = options.targetDims ?? [512, 1024, 1536, 2048];
    if (targetDims.length === 0) throw new RangeError('s2sd: targetDims must name at least one head');
    this.#heads = targetDims.map((dim) => {
      checkPositiveInteger('s2sd', 'target dim', dim);
      const first = linearParameters(options.featureDim, dim, options);
      const second = linearParameters(dim, dim, options);
      return { w1: first.weight, b1: first.bias, w2: second.weight, b2: second.bias, loss: baseFactory(dim) };
    });
  }

  /** The auxiliary embeddings (L2-normalised) of each head. */
  headEmbeddings(features: Tensor): Tensor[] {
    return tidy(() =>
      this.#heads.map((h) => F.l2Normalize(F.linear(F.linear(features, h.w1, h.b1).relu(), h.w2, h.b2), 1)),
    );
  }

  compute(embeddings: Tensor, labels: Tensor, context?: LossContext): Tensor {
    checkBatch('s2sd', embeddings, labels);
    const features = context?.features;
    if (!features) throw new Error(`${this.name}: needs the backbone features: compute(embeddings, labels, { features })`);
    if (features.ndim !== 2 || features.size(0) !== embeddings.size(0)) {
      throw new RangeError(`${this.name}: features must be [${embeddings.size(0)}, F], got [${features.shape.join(', ')}]`);
    }
    const step = this.#steps++;
    return tidy(() => {
      const normalized = F.l2Normalize(embeddings, 1);
      const sourceSimilarity = normalized.mm(normalized.t());
      const heads = this.headEmbeddings(features);
      const headLosses = heads.map((e, k) => this.#heads[k]!.loss.compute(e, labels, context));
      const distill = heads.map((e) => similarityDistillation(sourceSimilarity, e.mm(e.t()), this.temperature));
      let loss = this.base
        .compute(embeddings, labels, context)
        .add(mean(headLosses))
        .div(2)
        .add(mean(distill).mul(this.weight));
      if (this.featureDistillation && step >= this.featureDelaySteps) {
        const f = F.l2Normalize(features.detach(), 1);
        loss = loss.add(similarityDistillation(sourceSimilarity, f.mm(f.t()), this.temperature).mul(this.featureWeight));
      }
      return loss;
    });
  }

  parameters(): Tensor[] {
    return allParameters(this.parameterGroups());
  }

  parameterGroups(): ParameterGroup[] {
    const heads: ParameterGroup = { name: 's2sd.heads', params: this.#heads.flatMap((h) => [h.w1, h.b1, h.w2, h.b2]) };
    const own = [this.base, ...this.#heads.map((h) => h.loss)].flatMap((loss, k) =>
      loss.parameterGroups().map((g) => ({ ...g, name: k === 0 ? g.name : `s2sd.head${k - 1}.${g.name}` })),
    );
    return [heads, ...own];
  }

  dispose(): void {
    this.base.dispose();
    for (const h of this.#heads) {
      h.loss.dispose();
      for (const t of [h.w1, h.b1, h.w2, h.b2]) t.dispose();
    }
  }
}

function mean(values: Tensor[]): Tensor {
  return tidy(() => values.reduce((a, b) => a.add(b)).div(values.length));
}
