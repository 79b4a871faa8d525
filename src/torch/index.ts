// The tensor layer's public face.
export { Tensor, type Scalar, type TensorOrScalar, type MemoryFormat, type ValuesIndices } from './tensor.js';
export type { DType, AnyTypedArray } from './dtype.js';
export { isDType, isFloating, isReducedFloat } from './dtype.js';
export * from './creation.js';
export { noGrad, enableGrad, grad, isGradEnabled, type GradOptions } from './autograd.js';
export { tidy, keep, dispose } from './scope.js';
export { manualSeed, setNumThreads, getNumThreads, liveTensors, torchVersion, cuda, cpuCache, cpuFlags, resolveDevice, profileOps, type CpuCacheStats, type OpTime } from './runtime.js';
export { readSafetensors, writeSafetensors, writeFileAtomic, type SafetensorsFile } from './safetensors.js';
export { readPytorchCheckpoint, isPytorchCheckpoint, CheckpointError, STATE_DICT_KEYS, type PytorchCheckpoint } from './pytorch-checkpoint.js';
export { readSafetensorsHeader, MAX_HEADER_BYTES, type HeaderEntry, type SafetensorsHeader } from './safetensors-header.js';
export { op, OpRef, opCallCount } from './dispatch.js';
export { run, runMany } from './tensor.js';
export * from './foreach.js';
export * as F from './functional.js';
