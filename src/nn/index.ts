// Neural-network layer: modules, layers, ResNets and the embedding model.
export { Module, type LoadOptions } from './module.js';
export { StateDictError, describeReport, type LoadReport, type ShapeMismatch } from './state-dict.js';
export { Conv2d, type Conv2dOptions, type Pair } from './conv.js';
export { matmulShape, type ConvAlgorithm, type ConvGeometry } from './conv-matmul.js';
export { Linear, type LinearOptions } from './linear.js';
export { BatchNorm2d, copyBatchNorm, setBatchStatsSync, withoutRunningStatUpdates, type BatchNormConfig, type BatchNormOptions, type BatchStatsSync } from './batchnorm.js';
export { AdaptiveAvgPool2d, Flatten, Identity, MaxPool2d, ReLU, Sequential, type MaxPool2dOptions } from './layers.js';
export { replaceBatchNorms, replaceModules } from './replace.js';
export { freezeParameters, withFrozenParameters } from './freeze.js';
export * as init from './init.js';
export { BasicBlock, Bottleneck, ResidualBlock, EXPANSION, type BlockKind } from './resnet-blocks.js';
export {
  RESNET_SPECS,
  ResNet,
  ResNetBackbone,
  resnet,
  globalAvgPool,
  type FeatureExtractor,
  type ResNetArch,
  type ResNetSpec,
} from './resnet.js';
export { C2F2, C2F2_BN_ORDER, C2F2_ORDER, C2f2Backbone, ToMap } from './c2f2.js';
export { EmbeddingModel, type EmbeddingOutput } from './embedding.js';
export { isBatchCounter, modelNames, planLoad, type EntryShape, type LoadPlan } from './load-rules.js';
export { modelStateShapes, type StateEntrySpec, type StateShapes } from './state-shapes.js';
export { ARCHS, archHasBatchNorm, createModel, isArch, type Arch, type ModelConfig } from './registry.js';
export {
  MultiBatchNorm2d,
  bnBranchCount,
  convertToMultiBatchNorm,
  multiBatchNorms,
  setBnRouting,
  syncAuxBranches,
  resetAuxRunningStats,
  type BnRouting,
  type BnSegment,
} from './multi-batchnorm.js';
export {
  MEMORY_FORMATS,
  PRECISIONS,
  isMemoryFormatName,
  computeDtypeOf,
  defaultMemoryFormat,
  fullPrecision,
  isPrecision,
  precisionProblem,
  prepareWeightCasts,
  setComputeMode,
  type MemoryFormatName,
  type Precision,
} from './precision.js';
export { forwardFlops } from './flops.js';
export { describeShortfall, formatBytes, forwardPeakBytes, memoryShortfall, modelElements, type ForwardMemoryRequest, type MemoryShortfall, type PassKind } from './memory-estimate.js';
export { WeightCasts } from './weight-cast.js';
