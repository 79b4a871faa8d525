// Evaluating trained models: clean retrieval on a dataset's protocol, robustness under attack
// (eval.json), embedding images, and the views a report draws (views.json: a 2-D map, a gallery).
export { embedSplit, type EmbedFn, type EmbedSplitOptions } from './embed-split.js';
export { cleanMetrics, type CleanEvaluationSettings } from './clean.js';
export { COMPUTE_DEFAULTS, COMPUTE_TEXT, computeWith, resolveCompute, resolveDeviceSetting, withTestImages, type ComputeRequest, type ComputeSetting, type DeviceSetting, type TestImages } from './compute.js';
export { contractOutput, ersEntries, evalFileOf, formatEvaluation, orderedMetrics } from './results.js';
export { checkEvaluateOptions, EVALUATE_DEFAULTS, EVALUATE_OPTION_TEXT, evaluateOptionsSchema, OptionError, TOP_FRACTION, type EvaluateOptionValues, type OptionText } from './options.js';
export { planEvaluation, type EvalPlan } from './plan.js';
export { evaluate, type EvalProgress, type EvaluateOptions } from './evaluate.js';
export { writeRunViews, type ViewsOptions } from './views.js';
export { embeddingMap, subsampleIndices, type EmbeddingMapInput, type EmbeddingMapOptions, type MapPoint } from './embedding-map.js';
export { embedFolder, embedTensor, type EmbedImagesOptions, type Embeddings } from './embed.js';
