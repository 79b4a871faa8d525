// The trainer: configuration, checkpoints, the epoch loop, and the library's train() entry points.
export * from './config.js';
export { datasetDefaults, defaultRunDir } from './defaults.js';
export {
  checkSettings,
  parseFlags,
  readConfigFile,
  resolveConfig,
  resolveResumeConfig,
  RESUMABLE_CHANGES,
  type FlagValues,
  type GivenSettings,
  type ResolveInput,
} from './resolve.js';
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
export { loadPretrained } from './pretrained.js';
export { lockRun, RunLockedError, type LockHolder, type RunLock } from './run-lock.js';
export { stepSeed } from './seeding.js';
export { buildParts, disposeParts, methodOf, openTrainingData, trainSampler, type TrainingData, type TrainingParts } from './setup.js';
export { buildSummary, summaryMetrics } from './summary.js';
export { writeRunModel } from './weights.js';
export { checkShards, Trainer, TrainingDiverged, TrainingInterrupted, type ProgressReporter, type TrainerHooks } from './trainer.js';
export { resolveTrainConfig, resumeTraining, train, type TrainControl, type TrainOptions } from './train.js';
