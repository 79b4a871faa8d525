// On-disk formats: one module per file kind, each a zod schema with its type derived from it,
// and the run directory that knows which file is which.
export { FormatError, fieldPath } from './errors.js';
export { parseWithSchema, readJsonFile, writeJsonFile } from './json-file.js';
export { AUX_BN_INITS, configSchema, CONFIG_FIELDS, CONFIG_LIMITS, methodName, MODEL_SELECTIONS, SAMPLINGS, TRAIN_PRESETS, OPTIMIZER_NAMES, SCHEDULE_NAMES, type ConfigField, type OptimizerName, type ScheduleName, type TrainConfig } from './config-file.js';
export { defenseSpecSchema, distributionSpecSchema, methodSpecSchema } from './method-spec.js';
export { metricValuesSchema, summarySchema, type MetricValues, type RunSummary } from './summary-file.js';
export { epochLineSchema, evalLineSchema, metricsLineSchema, type EpochLine, type EvalLine, type MetricsLine } from './metrics-log.js';
export {
  attackDetailSchema,
  attackEntrySchema,
  detectionEntrySchema,
  ersEntrySchema,
  ersValueSchema,
  legacyErsEntrySchema,
  evalFileSchema,
  evalOutputSchema,
  evalSettingsSchema,
  type AttackDetail,
  type AttackEntry,
  type DetectionEntry,
  type ErsEntry,
  type LegacyErsEntry,
  type EvalFile,
  type EvalOutput,
  type EvalSettings,
} from './eval-file.js';
export { comparisonRowSchema, comparisonSchema, type Comparison, type ComparisonRow } from './comparison-file.js';
export {
  auxFileOf,
  isAuxKey,
  MODEL_FORMAT,
  MODEL_LIMITS,
  modelMetadataSchema,
  writeModelFile,
  type ModelMetadata,
  type ModelRecord,
} from './model-file.js';
export { loadModelFile, type LoadedModel, type ModelRequest } from './model-load.js';
export { convertWeights, type ConvertResult } from './weights-convert.js';
export { CHECKPOINT_FILES, EXPERIMENT_FILES, ExperimentDirectory, experimentRunDir, experimentRunPath, RUN_FILES, RunDirectory, writeRunModelFile, type RunFile } from './run-directory.js';
export {
  CHECKPOINT_FORMAT,
  lockFileSchema,
  manifestSchema,
  optimizerMetaSchema,
  trainerStateSchema,
  type EpochProgress,
  type EvaluationRecord,
  type LockHolder,
  type Manifest,
  type TrainerState,
} from './checkpoint-files.js';
export { disposeCheckpoint, findCheckpoint, loadCheckpoint, saveCheckpoint, type Checkpoint, type SaveHooks } from './checkpoint.js';
export { readEmbeddingsFile, writeEmbeddingsFile, type EmbeddingsRecord } from './embeddings-file.js';
export { jsonSchemaOf, PUBLISHED_SCHEMAS } from './json-schemas.js';
export {
  detectionStatSchema,
  differenceSchema,
  experimentMethodSchema,
  experimentSchema,
  robustStatSchema,
  seedStatSchema,
  type DetectionStat,
  type Difference,
  type ExperimentFile,
  type ExperimentMethod,
  type RobustStat,
  type SeedStat,
} from './experiment-file.js';
export { neighbourSchema, viewsSchema, type Neighbour, type ViewsFile } from './views-file.js';
export {
  chunkFileName,
  hasIndexManifest,
  INDEX_FILES,
  INDEX_FORMAT,
  indexItemSchema,
  indexManifestSchema,
  readIndexChunk,
  readIndexItems,
  readIndexManifest,
  writeIndexChunk,
  writeIndexItems,
  writeIndexManifest,
  type IndexAnn,
  type IndexChunk,
  type IndexItem,
  type IndexManifest,
  type IndexModel,
  type IndexSource,
} from './index-manifest.js';
export { ONNX_FORMAT, ONNX_IO, onnxMetadataProps, onnxMetadataSchema, readOnnxFile, writeOnnxFile, type OnnxFile, type OnnxMetadata, type OnnxModelRecord } from './onnx-file.js';
export { decodeOnnxModel, encodeOnnxModel, ONNX_DTYPE, type OnnxAttribute, type OnnxGraph, type OnnxInitializer, type OnnxModel, type OnnxNode, type OnnxSummary, type OnnxValueInfo } from './onnx-proto.js';
export { MDPROP_VERSION } from './version.js';
