// Trains a small model without batch norm (BN=1: with two) for STEPS class-balanced steps of a
// global batch of 16, alone (no WORLD_SIZE) or as one rank of a data-parallel run, and (rank 0)
// writes the final weights, buffers and each step's loss to $RESULT_FILE. OVERLAP=0 reduces the
// gradients after the backward pass instead of during it; SYNC_BN=1 synchronises the batch norms
// over the ranks. Same seed, same data, same augmentations.
import { writeFileSync } from 'node:fs';
import { ClassBalancedSampler, DataLoader, limitSplit, openDataset, trainTransform, type BatchSampler } from '../../src/data/index.js';
import { createLoss, defaultLossSpec } from '../../src/dml/index.js';
import { methodStep, presetMethod } from '../../src/methods/index.js';
import { BatchNorm2d, Conv2d, EmbeddingModel, Module, ReLU, Sequential, setBatchStatsSync } from '../../src/nn/index.js';
import { Adam } from '../../src/optim/index.js';
import { joinRun, SINGLE_PROCESS, ShardedSampler, workerPlace, type Parallelism } from '../../src/parallel/index.js';
import { manualSeed, setNumThreads, tensor, tidy, type Tensor } from '../../src/torch/index.js';

/** Two strided convolutions and ReLUs: a backbone with no batch statistics. */
class PlainBackbone extends Module {
  readonly featureDim = 8;
  constructor() {
    super();
    this.registerModule('body', new Sequential(new Conv2d(1, 4, 3, { stride: 2 }), new ReLU(), new Conv2d(4, 8, 3, { stride: 2 }), new ReLU()));
  }
  forward(x: Tensor): Tensor {
    return this.child<Sequential>('body').forward(x);
  }
}

/**
 * The same convolutions, each followed by a batch norm, without biases as in ResNets: a bias before
 * a batch norm has a gradient of zero but for rounding, which Adam would blow up into noise steps.
 */
class BnBackbone extends Module {
  readonly featureDim = 8;
  constructor() {
    super();
    this.registerModule(
      'body',
      new Sequential(new Conv2d(1, 4, 3, { stride: 2, bias: false }), new BatchNorm2d(4), new ReLU(), new Conv2d(4, 8, 3, { stride: 2, bias: false }), new BatchNorm2d(8), new ReLU()),
    );
  }
  forward(x: Tensor): Tensor {
    return this.child<Sequential>('body').forward(x);
  }
}

const steps = Number(process.env.STEPS ?? 20);
setNumThreads(1);
const place = workerPlace();
const parallel: Parallelism = place === null ? SINGLE_PROCESS : joinRun(place, { device: 'cpu', timeoutMs: 60_000, overlap: process.env.OVERLAP !== '0' });

const train = limitSplit((await openDataset('mnist')).train, 128);
const global = new ClassBalancedSampler(train.labels, { batchSize: 16, samplesPerClass: 2, seed: 5 });
const rows = parallel.shard(16);
const sampler: BatchSampler = parallel.worldSize > 1 ? new ShardedSampler(global, train.labels, rows) : global;
const loader = new DataLoader(train, { sampler, transform: trainTransform({ size: 20, channels: 1, scale: [0.5, 1] }), seed: 5, firstSlot: rows.start });

manualSeed(11);
const model = new EmbeddingModel(process.env.BN === '1' ? new BnBackbone() : new PlainBackbone(), 6);
if (process.env.SYNC_BN === '1') setBatchStatsSync(model, parallel.batchStatsSync() ?? null);
const criterion = createLoss({ loss: defaultLossSpec('multisimilarity', { numClasses: train.numClasses, embeddingDim: 6 }), embeddingDim: 6, placement: { device: 'cpu' } });
const optimizer = new Adam(model.parameters(), { lr: 1e-2, weightDecay: 4e-4 });
parallel.broadcast(model.parameters());
const initial = model.parameters().map((p) => p.toFloat32Array());
const sync = parallel.stepSync(model.parameters(), criterion.parameters());
const method = presetMethod('baseline');

const losses: number[] = [];
for (let step = 0; step < steps; step++) {
  const batch = await loader.next();
  const result = tidy(() =>
    methodStep({ model, method, criterion, optimizer, ...(sync ? { sync } : {}) }, tensor(batch.images, [...batch.shape]), tensor(batch.labels, [batch.labels.length]).to('int64')),
  );
  losses.push(result.loss);
}
loader.close();
if (parallel.writes) {
  const moved = Math.max(...model.parameters().map((p, i) => Math.max(...p.toFloat32Array().map((v, j) => Math.abs(v - initial[i]![j]!)))));
  const weights = Object.fromEntries([...model.namedParameters(), ...model.namedBuffers()].map(([name, p]) => [name, Array.from(p.toFloat32Array())]));
  writeFileSync(process.env.RESULT_FILE ?? 'weights.json', JSON.stringify({ worldSize: parallel.worldSize, batchRows: rows.count, losses, moved, weights }));
}
parallel.close();
