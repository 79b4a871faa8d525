export type { DmlLoss, LossContext, LearningRate, ParameterGroup, ParameterPlacement } from './loss.js';
export { MultiSimilarityLoss, type MultiSimilarityOptions } from './multi-similarity.js';
export { MarginLoss, type MarginLossOptions, type BetaMode } from './margin.js';
export { TripletLoss, type TripletLossOptions } from './triplet.js';
export { PairTripletLoss, tripletMarginMean, type PairTripletOptions } from './pair-triplet.js';
export { ContrastiveLoss, type ContrastiveLossOptions } from './contrastive.js';
export { ArcFaceLoss, type ArcFaceOptions } from './arcface.js';
export { ProxyAnchorLoss, type ProxyAnchorOptions } from './proxy-anchor.js';
export { S2sdLoss, similarityDistillation, type S2sdOptions, type BaseLossFactory } from './s2sd.js';
export {
  createLoss,
  defaultLossSpec,
  isLossName,
  LOSS_NAMES,
  type LossSpec,
  type LossName,
  type LossConfig,
  type LossProblem,
} from './registry.js';
