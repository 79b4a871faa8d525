// Adversarial layer: feature-space PGD, the test-time attack suite and robustness evaluation.
export * from './pgd.js';
export {
  parseBudget,
  budgetInInputUnits,
  normalizedPixelRange,
  disposeRange,
  smallestAmount,
  scaleAmount,
  type Budget,
  type BudgetUnit,
} from './budget.js';
export { CleanGallery } from './gallery.js';
export {
  ATTACK_NAMES,
  isAttackName,
  isTargetedAttack,
  isRankingAttack,
  prepareAttack,
  type AttackName,
  type SuiteOptions,
  type QueryBatch,
  type BatchOutcome,
  type PreparedAttack,
} from './attacks.js';
export { rankingObjective, rankPercentiles, unitDistance, type RankingAttack, type RankingPartners } from './ranking.js';
export { otherClassTargets, randomRows, rowsFromTop, topPoolSize } from './targets.js';
export { GalleryClusters, retrievalMetrics, type RetrievalMetrics, type QuerySetEmbeddings } from './robust-metrics.js';
export {
  evaluateRun,
  evaluateRobustness,
  pgdOptionsFor,
  type AttackRun,
  type PgdSettings,
  type ImageBatch,
  type QuerySource,
  type RunResult,
  type RobustnessOptions,
} from './evaluate.js';
export {
  ERS_COMPONENTS,
  empiricalRobustnessScore,
  rescaleErsComponent,
  robustnessRatio,
  robustnessRatios,
  type ErsComponent,
  type ErsMeasures,
  type ErsResult,
  type AttackKey,
  type RatioRow,
} from './scores.js';
export {
  buildReport,
  contractOutput,
  formatReport,
  orderedMetrics,
  ersEntries,
  type AttackEntry,
  type AttackDetail,
  type CleanMetrics,
  type ErsEntry,
  type EvalFile,
  type EvalOutput,
} from './report.js';
export { queryIndices, subsetSplit, splitQuerySource, embedSplit, type SplitQueryOptions } from './query-source.js';
export {
  readRunSettings,
  checkpointWeights,
  weightsInfo,
  loadModel,
  isFile,
  ModelSourceError,
  RUN_CONFIG,
  RUN_WEIGHTS,
  CHECKPOINT_WEIGHTS,
  type RunSettings,
  type WeightsInfo,
  type ModelRequest,
  type LoadedModel,
} from './model-source.js';
