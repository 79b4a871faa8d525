// Adversarial layer: feature-space PGD, the test-time attack suite and robustness evaluation.
export * from './pgd.js';
export {
  parseBudget,
  toBudget,
  checkBudgetNorm,
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
export { GalleryClusters, galleryMetrics, type QuerySetEmbeddings } from './robust-metrics.js';
export {
  measureAttacks,
  measureCondition,
  measureClean,
  measureRobustness,
  JOINT_INPUT_VALUES,
  pgdOptionsFor,
  type AttackCondition,
  type ConditionResult,
  type PgdSettings,
  type ImageBatch,
  type QuerySource,
  type RobustnessOptions,
} from './robustness.js';
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
