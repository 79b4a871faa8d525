export { evaluateRetrieval, type RetrievalEvaluationOptions, type RetrievalReport, type RecallKey, type EvaluationStage } from './evaluate.js';
export { retrievalScores, type RetrievalInput, type RetrievalScores } from './retrieval.js';
export { nearestNeighbours, type NeighbourOptions, type Neighbours } from './neighbours.js';
export { kmeans, kmeansPlusPlus, type KMeansOptions, type KMeansResult } from './kmeans.js';
export { normalizedMutualInformation, pairF1 } from './clustering.js';
export { piRatio, rhoSpectrum, type PiRatio } from './embedding-space.js';
export { denseLabels, type DenseLabels } from './labels.js';
