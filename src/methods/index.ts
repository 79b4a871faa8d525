// Methods: how one batch becomes one loss and one optimizer step.
export * from './spec.js';
export { makeDistribution, makeDistributions, sameClassPartners, type DistributionDraws, type DistributionJob } from './distributions.js';
export {
  DEFENSE_DEFAULTS,
  DEFENSE_KINDS,
  defenseSpecSchema,
  inputAmountSchema,
  collapsePairs,
  defenseLoss,
  destinationHardness,
  embeddingShift,
  freshDefenseMemory,
  manipulateHardness,
  tripletHardness,
  type DefenseKind,
  type DefenseMemory,
  type DefenseSpec,
} from './defenses.js';
export { buildPieces, distributionJobs, jointAttackPays, methodStep, NonFiniteLossError, type Criterion, type StepContext, type StepLossScale, type StepOptimizer, type StepResult, type StepRows, type StepSync } from './step.js';
export { modelParameterGroups, type GroupRates, type NamedGroup } from './param-groups.js';
