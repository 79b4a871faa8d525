// Methods: how one batch becomes one loss and one optimizer step.
export * from './spec.js';
export { makeDistribution, sameClassPartners, type DistributionDraws } from './distributions.js';
export {
  DEFENSE_DEFAULTS,
  DEFENSE_KINDS,
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
export { buildPieces, methodStep, NonFiniteLossError, type Criterion, type StepContext, type StepOptimizer, type StepResult, type StepRows, type StepSync } from './step.js';
export { modelParameterGroups, type GroupRates, type NamedGroup } from './param-groups.js';
