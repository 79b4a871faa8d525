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
  ATTACKS,
  GTT_RETAIN_K,
  attackIters,
  isAttackName,
  type AttackDescriptor,
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
  evaluateRuns,
  JOINT_INPUT_VALUES,
  evaluateRobustness,
  pgdOptionsFor,
  type AttackRun,
  type PgdSettings,
  type ImageBatch,
  type QuerySource,
  type RunResult,
  type RobustnessOptions,
  type DetectionOptions,
} from './evaluate.js';
export { auroc, rocCurve, type RocCurve } from './detection.js';
export {
  ERS_COMPONENTS,
  empiricalRobustnessScore,
  rescaleErsComponent,
  robustnessRatio,
  type ErsComponent,
  type ErsMeasures,
  type ErsResult,
  type ErsValue,
} from './scores.js';
export { queryIndices, splitQuerySource, type SplitQueryOptions } from './query-source.js';
export { PROFILE_NAMES, PROFILES, isProfileName, type AttackProfile, type ProfileName } from './profiles.js';
export { cosineToTargets, mismatchObjective, misrankObjective, nearestOtherThanTop1, retainedInTopK, towardsRowsObjective } from './misranking.js';
