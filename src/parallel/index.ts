// Data-parallel training over torch.distributed (c10d): process groups, gradient reduction,
// sharded sampling, and the launcher of local workers.
export { availableBackends, DistributedError, ProcessGroup, type Backend, type ProcessGroupOptions, type ReduceOp } from './process-group.js';
export { workerPlace, type WorkerPlace } from './environment.js';
export { GradientReducer, type ReducerOptions } from './gradient-reducer.js';
export { ShardedSampler } from './sharded-sampler.js';
export { DataParallel, joinRun, SINGLE_PROCESS, shardOf, type JoinOptions, type Parallelism } from './data-parallel.js';
export { freePort, launchWorkers, type LaunchOptions, type LaunchResult, type WorkerExit } from './launcher.js';
export { OverlappedReducer } from './overlapped-reducer.js';
export { SyncBatchStats } from './sync-batchnorm.js';
