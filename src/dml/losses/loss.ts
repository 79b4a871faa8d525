// The common interface of metric-learning losses.
import type { DType, Tensor } from '../../torch/index.js';

/** Extra inputs some losses use; the plain ones ignore it. */
export interface LossContext {
  /** The backbone's pooled features [B, F] before the embedding head (S2SD's auxiliary heads read them). */
  features?: Tensor;
}

/** A learning rate for a parameter group: a fixed value, or a factor on the trainer's base rate. */
export type LearningRate = { kind: 'absolute'; value: number } | { kind: 'scale'; factor: number };

export interface ParameterGroup {
  /** What the parameters are, e.g. 'margin.beta', 'arcface.proxies'. */
  name: string;
  params: Tensor[];
  /** Absent: the trainer's base learning rate. */
  learningRate?: LearningRate;
}

export interface DmlLoss {
  readonly name: string;
  /** The loss (a scalar tensor) of a batch: embeddings [B, D], labels int64 [B]. */
  compute(embeddings: Tensor, labels: Tensor, context?: LossContext): Tensor;
  /** Every learnable tensor the loss owns (proxies, margins, heads); empty for plain losses. */
  parameters(): Tensor[];
  /** The same parameters grouped by the learning rate they are meant to train with. */
  parameterGroups(): ParameterGroup[];
  /** Frees the loss's own parameters. */
  dispose(): void;
}

/** Where learnable parameters live. */
export interface ParameterPlacement {
  /** Default 'float32'. */
  dtype?: Extract<DType, 'float32' | 'float64'>;
  /** Default 'cpu'. */
  device?: string;
}

export function allParameters(groups: readonly ParameterGroup[]): Tensor[] {
  return groups.flatMap((g) => g.params);
}
