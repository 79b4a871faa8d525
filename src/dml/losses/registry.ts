// Losses by name with typed options: what the trainer's `--loss` flag selects.
import { ArcFaceLoss, type ArcFaceOptions } from './arcface.js';
import { ContrastiveLoss, type ContrastiveLossOptions } from './contrastive.js';
import type { DmlLoss, ParameterPlacement } from './loss.js';
import { MarginLoss, type MarginLossOptions } from './margin.js';
import { MultiSimilarityLoss, type MultiSimilarityOptions } from './multi-similarity.js';
import { ProxyAnchorLoss, type ProxyAnchorOptions } from './proxy-anchor.js';
import { PairTripletLoss, type PairTripletOptions } from './pair-triplet.js';
import { S2sdLoss, type S2sdOptions } from './s2sd.js';
import { TripletLoss, type TripletLossOptions } from './triplet.js';

/** Proxy losses take their embedding width from the batch they train on; S2SD overrides it per head. */
type WithoutEmbeddingDim<T> = Omit<T, 'embeddingDim'>;

export type LossSpec =
  | ({ name: 'multisimilarity' } & MultiSimilarityOptions)
  | ({ name: 'margin' } & MarginLossOptions)
  | ({ name: 'triplet' } & TripletLossOptions)
  | ({ name: 'pair-triplet' } & PairTripletOptions)
  | ({ name: 'contrastive' } & ContrastiveLossOptions)
  | ({ name: 'arcface' } & WithoutEmbeddingDim<ArcFaceOptions>)
  | ({ name: 'proxyanchor' } & WithoutEmbeddingDim<ProxyAnchorOptions>);

export type LossName = LossSpec['name'];

export const LOSS_NAMES: readonly LossName[] = ['multisimilarity', 'margin', 'triplet', 'pair-triplet', 'contrastive', 'arcface', 'proxyanchor'];

export function isLossName(name: string): name is LossName {
  return (LOSS_NAMES as readonly string[]).includes(name);
}

export interface LossConfig {
  loss: LossSpec;
  /** Width of the embeddings the loss will see. */
  embeddingDim: number;
  /** Wrap the loss in S2SD multi-dimensional distillation. */
  s2sd?: S2sdOptions;
  /**
   * Where the loss's learnable tensors (margins, proxies, S2SD heads) live, e.g. { device: 'cuda' }
   * when training on a GPU; fields set in the loss or S2SD options win. Plain losses ignore it.
   */
  placement?: ParameterPlacement;
}

/** What the training problem fixes: used to fill in the options a loss needs. */
export interface LossProblem {
  numClasses: number;
  embeddingDim: number;
}

function createBase(spec: LossSpec, embeddingDim: number, placement: ParameterPlacement): DmlLoss {
  switch (spec.name) {
    case 'multisimilarity':
      return new MultiSimilarityLoss(spec);
    case 'margin':
      return new MarginLoss({ ...placement, ...spec });
    case 'triplet':
      return new TripletLoss(spec);
    case 'pair-triplet':
      return new PairTripletLoss(spec);
    case 'contrastive':
      return new ContrastiveLoss(spec);
    case 'arcface':
      return new ArcFaceLoss({ ...placement, ...spec, embeddingDim });
    case 'proxyanchor':
      return new ProxyAnchorLoss({ ...placement, ...spec, embeddingDim });
  }
}

/** Builds a loss; its learnable tensors come from parameters() / parameterGroups(). */
export function createLoss(config: LossConfig): DmlLoss {
  const { loss, embeddingDim, s2sd } = config;
  const placement = config.placement ?? {};
  if (!s2sd) return createBase(loss, embeddingDim, placement);
  return new S2sdLoss((dim) => createBase(loss, dim, placement), embeddingDim, { ...placement, ...s2sd });
}

/** The paper defaults for a loss chosen by name, sized for the problem. */
export function defaultLossSpec(name: LossName, problem: LossProblem): LossSpec {
  switch (name) {
    case 'multisimilarity':
      return { name };
    case 'margin':
      return { name, beta: { kind: 'perClass', numClasses: problem.numClasses } };
    case 'triplet':
    case 'pair-triplet':
      return { name };
    case 'contrastive':
      return { name };
    case 'arcface':
      return { name, numClasses: problem.numClasses };
    case 'proxyanchor':
      return { name, numClasses: problem.numClasses };
  }
}

/** Shortcut for the trainer: the loss named by a CLI flag, with paper defaults. */
export function lossByName(name: string, problem: LossProblem, s2sd?: S2sdOptions, placement?: ParameterPlacement): DmlLoss {
  if (!isLossName(name)) throw new RangeError(`unknown loss '${name}'; expected one of ${LOSS_NAMES.join(', ')}`);
  return createLoss({ loss: defaultLossSpec(name, problem), embeddingDim: problem.embeddingDim, s2sd, placement });
}
