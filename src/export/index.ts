// A model written for other runtimes: ONNX graphs built from mdprop's own modules.
export { archOf, exportOnnx, ExportOptionError, mdpropVersion, type ExportOptions, type ExportResult } from './export.js';
export { emitEmbeddingModel, emitModule, UnsupportedModuleError, type EmitContext } from './modules.js';
export { foldBatchNorms } from './fold-bn.js';
export { GraphBuilder } from './graph.js';
export { OPSETS, irVersionFor, isSupportedOpset, opsetProblem } from './opset.js';
