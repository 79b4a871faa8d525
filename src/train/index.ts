// The trainer: configuration, starting and resuming a run, the epoch loop, and the library's
// train() entry points. The checkpoint's format lives in src/formats/checkpoint.ts.
export * from './config.js';
export { datasetDefaults, defaultRunDir } from './defaults.js';
export {
  checkSettings,
  parseFlags,
  readConfigFile,
  resolveConfig,
  resolveResumeConfig,
  RESUMABLE_CHANGES,
  checkFree,
  checkShards,
  type FlagValues,
  type GivenSettings,
  type ResolveInput,
} from './resolve.js';
export { restoreCheckpoint, withCheckpoint, type LearnedState } from './learned-state.js';
export { loadPretrained } from './pretrained.js';
export { lockRun, RunLockedError, type LockHolder, type RunLock } from './run-lock.js';
export { stepSeed } from './seeding.js';
export { buildParts, disposeParts, methodOf, openTrainingData, trainingCompute, trainSampler, type PartsSettings, type TrainingData, type TrainingParts } from './setup.js';
export { buildSummary, summaryMetrics } from './summary.js';
export { resumeRun, startRun } from './run-start.js';
export { Trainer, TrainingDiverged, TrainingInterrupted, type ProgressReporter, type TrainerHooks } from './trainer.js';
export { resolveTrainConfig, resumeTraining, train, type TrainControl, type TrainOptions } from './train.js';
