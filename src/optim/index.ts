// Optimizers and learning-rate schedules.
export {
  Optimizer,
  CPU_BATCH_ELEMENTS,
  type AnyOptimizer,
  type BaseHyper,
  type OptimizerSettings,
  type ParamBatch,
  type HyperValue,
  type ParamGroup,
  type ParamGroupSpec,
  type ParamState,
  type OptimizerState,
  type OptimizerStateMeta,
  type SavedGroup,
  type SavedParam,
} from './optimizer.js';
export { SGD, SGD_DEFAULTS, type SgdOptions } from './sgd.js';
export { Adam, AdamFamily, ADAM_DEFAULTS, type AdamOptions } from './adam.js';
export { AdamW, ADAMW_DEFAULTS } from './adamw.js';
export { LrScheduler, type Schedule, type LrGroups, type SchedulerState } from './schedule.js';
export { stepLr, type StepLrOptions } from './step-lr.js';
export { multiStepLr, type MultiStepLrOptions } from './multi-step-lr.js';
export { cosineAnnealing, type CosineAnnealingOptions } from './cosine-annealing.js';
export { linearWarmup, type LinearWarmupOptions } from './linear-warmup.js';
export { DynamicLossScale, type LossScaleOptions } from './loss-scale.js';
