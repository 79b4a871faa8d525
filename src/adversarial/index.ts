// Adversarial layer: feature-space PGD, the test-time attack suite and robustness evaluation.
export * from './pgd.js';
export {
  parseBudget,
  toBudget,
  budgetAmount,
  isBudgetText,
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
  attackIters,
  isAttackName,
  isTargetedAttack,
  isRankingAttack,
  prepareAttack,
  type AttackName,
} from './attacks.js';
export type { AttackDescriptor, BatchOutcome, PrepareAttack, PreparedAttack, QueryBatch, SuiteOptions } from './attack.js';
export { prepareTargeted } from './targeted.js';
export { prepareUntargeted } from './untargeted.js';
export { prepareRanking, rankingObjective, rankPercentiles, unitDistance, type RankingAttack, type RankingPartners } from './ranking.js';
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
export {
  cosineToTargets,
  GTT_RETAIN_K,
  mismatchObjective,
  misrankObjective,
  nearestOtherThanTop1,
  prepareGtm,
  prepareGtt,
  prepareLtm,
  prepareTma,
  retainedInTopK,
  towardsRowsObjective,
} from './misranking.js';
