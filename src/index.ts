// The front door: what `import ... from 'mdprop'` sees. High-level entry points first (typed,
// checked options in; run directories and their JSON files out), then every layer as a namespace
// for code that builds on the parts.

// Training, evaluation and embedding.
export { train, resumeTraining, resolveTrainConfig, type TrainOptions, type TrainControl } from './train/index.js';
export { evaluate, embedFolder, embedTensor, type EvaluateOptions, type EvalProgress, type EmbedImagesOptions, type Embeddings } from './evaluate/index.js';
export { loadModelFile as loadModel, convertWeights, type LoadedModel, type ModelRequest, type ConvertResult } from './formats/index.js';
export { retrievalMetrics, type RetrievalMetricsOptions } from './dml/index.js';
export { compareRuns, loadRun, buildRunReport, buildExperimentReport, writeReport, type ReportKind } from './report/index.js';
export { runExperiment, formatExperiment, PRESETS, type ExperimentOptions, type ExperimentProgress, type PresetName } from './experiment/index.js';

// Methods as data: a preset's name or a list of distributions.
export { presetMethod, validateMethod, METHOD_NAMES, type MethodName, type MethodSpec, type DistributionSpec, type DistributionKind } from './methods/index.js';

// The files a run leaves, with their schemas.
export {
  RunDirectory,
  RUN_FILES,
  type TrainConfig,
  type RunSummary,
  type EvalFile,
  type EvalOutput,
  type AttackEntry,
  type Comparison,
  type ExperimentFile,
  type MetricsLine,
  type MetricValues,
} from './formats/index.js';

// What can go wrong, by kind: a setting, an option, a file, the data, an interrupted or diverged run.
export { ConfigError, TrainingDiverged, TrainingInterrupted } from './train/index.js';
export { joinRun, launchWorkers, workerPlace, DistributedError, type LaunchOptions, type LaunchResult, type Parallelism, type WorkerPlace } from './parallel/index.js';
export { OptionError } from './evaluate/index.js';
export { FormatError } from './formats/index.js';
export { DataError, ImageDecodeError } from './data/index.js';

// The layers, for building on the parts.
export * as torch from './torch/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as data from './data/index.js';
export * as dml from './dml/index.js';
export * as adversarial from './adversarial/index.js';
export * as methods from './methods/index.js';
export * as formats from './formats/index.js';
export * as evaluation from './evaluate/index.js';
export * as training from './train/index.js';
export * as parallel from './parallel/index.js';
export * as report from './report/index.js';
export * as experiment from './experiment/index.js';
export * as benchmark from './benchmark/index.js';
