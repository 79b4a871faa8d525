// Deep metric learning: distances, losses, miners and evaluation metrics.
export * from './distances.js';
export * from './losses/index.js';
export * from './miners/index.js';
export * from './metrics/index.js';
export { labelMasks, type LabelMasks } from './labels.js';
