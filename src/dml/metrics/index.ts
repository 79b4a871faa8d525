export { retrievalMetrics, type RetrievalMetricsOptions, type MetricsStage } from './retrieval-metrics.js';
export { recallKey, type MetricValues, type RecallKey } from './values.js';
export { retrievalScores, type RetrievalInput, type RetrievalPass } from './retrieval.js';
export { nearestNeighbours, type NeighbourOptions, type Neighbours } from './neighbours.js';
export { kmeans, kmeansPlusPlus, type KMeansOptions, type KMeansResult } from './kmeans.js';
export { normalizedMutualInformation, pairF1 } from './clustering.js';
export { piRatio, rhoSpectrum, type PiRatio } from './embedding-space.js';
export { denseLabels, type DenseLabels } from './labels.js';
