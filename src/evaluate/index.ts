// Evaluating trained models: clean retrieval on a dataset's protocol, robustness under attack
// (eval.json), and embedding images.
export { embedSplit, type EmbedFn, type EmbedSplitOptions } from '../retrieval/index.js';
export { evaluateModel, type CleanEvaluationSettings } from './clean.js';
export { buildReport, contractOutput, ersEntries, formatReport, orderedMetrics } from './report.js';
export { checkEvaluateOptions, EVALUATE_DEFAULTS, evaluateOptionsSchema, OptionError, TOP_FRACTION, type EvaluateOptionValues } from './options.js';
export { planEvaluation, type EvalPlan } from './plan.js';
export { evaluate, type EvalProgress, type EvaluateOptions } from './evaluate.js';
export { embedFolder, embedTensor, type EmbedImagesOptions, type Embeddings } from './embed.js';
