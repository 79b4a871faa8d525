// The trainer: configuration, run directory, checkpoints, evaluation and the epoch loop.
export * from './config.js';
export { datasetDefaults, defaultRunDir } from './defaults.js';
export { parseFlags, readConfigFile, resolveConfig, resolveResumeConfig, RESUMABLE_CHANGES, type FlagValues, type ResolveInput } from './resolve.js';
export { RunDirectory, RUN_FILES, type EpochLine, type EvalLine, type MetricsLine, type MetricValues } from './run-dir.js';
export {
  CHECKPOINT_FORMAT,
  disposeCheckpoint,
  findCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
  type Checkpoint,
  type EpochProgress,
  type EvaluationRecord,
  type SaveHooks,
  type TrainerState,
} from './checkpoint.js';
export { embedSplit, evaluateModel, type EvaluationSettings } from './evaluation.js';
export { loadPretrained } from './pretrained.js';
export { stepSeed } from './seeding.js';
export { buildParts, methodOf, openTrainingData, type TrainingData, type TrainingParts } from './setup.js';
export { buildSummary, SUMMARY_METRICS, type RunSummary } from './summary.js';
export { isAuxKey, MODEL_FORMAT, writeDeployableModel } from './weights.js';
export { Trainer, TrainingDiverged, TrainingInterrupted, type ProgressReporter, type TrainerHooks } from './trainer.js';
