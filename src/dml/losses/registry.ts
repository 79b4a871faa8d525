// Losses by name with typed options, one table entry each: what the trainer's `--loss` flag
// selects. A new loss is one file with its class plus one line in the table.
import { ArcFaceLoss, type ArcFaceOptions } from './arcface.js';
import { ContrastiveLoss, type ContrastiveLossOptions } from './contrastive.js';
import type { DmlLoss, ParameterPlacement } from './loss.js';
import { MarginLoss, type MarginLossOptions } from './margin.js';
import { MultiSimilarityLoss, type MultiSimilarityOptions } from './multi-similarity.js';
import { ProxyAnchorLoss, type ProxyAnchorOptions } from './proxy-anchor.js';
import { PairTripletLoss, type PairTripletOptions } from './pair-triplet.js';
import { S2sdLoss, type S2sdOptions } from './s2sd.js';
import { TripletLoss, type TripletLossOptions } from './triplet.js';

/** What the training problem fixes: used to fill in the options a loss needs. */
export interface LossProblem {
  numClasses: number;
  embeddingDim: number;
}

/** One loss: how to build it from its options, and the paper's options for a problem. */
interface LossEntry<S extends { name: string }> {
  create(spec: S, embeddingDim: number, placement: ParameterPlacement): DmlLoss;
  defaults(problem: LossProblem): S;
}

/** S is the spec the builder takes; the defaults must be one. */
const entry = <S extends { name: string }>(create: (spec: S, embeddingDim: number, placement: ParameterPlacement) => DmlLoss, defaults: (problem: LossProblem) => NoInfer<S>): LossEntry<S> => ({
  create,
  defaults,
});

// Every loss, one line each (its class and options live in its own file). Proxy losses take their
// embedding width from the batch they train on; S2SD overrides it per head.
const TABLE = {
  multisimilarity: entry((s: { name: 'multisimilarity' } & MultiSimilarityOptions) => new MultiSimilarityLoss(s), () => ({ name: 'multisimilarity' }) as const),
  margin: entry((s: { name: 'margin' } & MarginLossOptions, _dim, placement) => new MarginLoss({ ...placement, ...s }), (p) => ({ name: 'margin', beta: { kind: 'perClass', numClasses: p.numClasses } }) as const),
  triplet: entry((s: { name: 'triplet' } & TripletLossOptions) => new TripletLoss(s), () => ({ name: 'triplet' }) as const),
  'pair-triplet': entry((s: { name: 'pair-triplet' } & PairTripletOptions) => new PairTripletLoss(s), () => ({ name: 'pair-triplet' }) as const),
  contrastive: entry((s: { name: 'contrastive' } & ContrastiveLossOptions) => new ContrastiveLoss(s), () => ({ name: 'contrastive' }) as const),
  arcface: entry((s: { name: 'arcface' } & Omit<ArcFaceOptions, 'embeddingDim'>, dim, placement) => new ArcFaceLoss({ ...placement, ...s, embeddingDim: dim }), (p) => ({ name: 'arcface', numClasses: p.numClasses }) as const),
  proxyanchor: entry((s: { name: 'proxyanchor' } & Omit<ProxyAnchorOptions, 'embeddingDim'>, dim, placement) => new ProxyAnchorLoss({ ...placement, ...s, embeddingDim: dim }), (p) => ({ name: 'proxyanchor', numClasses: p.numClasses }) as const),
};

type Table = typeof TABLE;
export type LossName = keyof Table;
/** A loss chosen by name with its typed options. */
export type LossSpec = { [N in LossName]: Parameters<Table[N]['create']>[0] }[LossName];

export const LOSS_NAMES = Object.keys(TABLE) as LossName[];

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

function createBase(spec: LossSpec, embeddingDim: number, placement: ParameterPlacement): DmlLoss {
  // The entry of spec.name takes exactly this spec; TypeScript cannot follow that link through a union.
  return (TABLE[spec.name] as LossEntry<LossSpec>).create(spec, embeddingDim, placement);
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
  return TABLE[name].defaults(problem);
}
