// Methods: how one batch becomes one loss and one optimizer step.
export * from './spec.js';
export { makeDistribution, makeDistributions, sameClassPartners, type DistributionDraws, type DistributionJob } from './distributions.js';
export { buildPieces, methodStep, NonFiniteLossError, type Criterion, type StepContext, type StepLossScale, type StepOptimizer, type StepResult } from './step.js';
export { modelParameterGroups, type GroupRates, type NamedGroup } from './param-groups.js';
