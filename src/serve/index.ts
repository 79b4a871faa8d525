// The HTTP retrieval service over a gallery index, and its web page.
export { createService, startServer, SERVE_DEFAULTS, type RetrievalService, type RunningServer, type ServeOptions } from './server.js';
export { DynamicBatcher, QueueFull, QueueTimeout, type BatcherOptions } from './batcher.js';
export { ServiceMetrics } from './metrics.js';
export { startInference, WorkerInference, type Inference, type InferenceJob, type InferenceOptions, type InferencePlace, type InferenceResult } from './inference.js';
export { searchPage } from './page.js';
