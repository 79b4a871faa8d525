// One worker of the scaling benchmark: MDProp training steps of resnet-small at 28x28 on a fixed
// random batch (data loading left out), alone or as one rank of a data-parallel run (OVERLAP=0:
// gradients all-reduced after the backward pass, which times the all-reduce; SYNC_BN=1: batch norms
// synchronised over the ranks); rank 0 writes its timings to $RESULT_FILE.
import { writeFileSync } from 'node:fs';
import { methodStep } from '../../src/methods/index.js';
import { joinRun, SINGLE_PROCESS, workerPlace, type DataParallel, type Parallelism } from '../../src/parallel/index.js';
import { manualSeed, randn, setNumThreads, tensor, tidy, zeros } from '../../src/torch/index.js';
import { setBatchStatsSync } from '../../src/nn/index.js';
import { buildParts, resolveConfig } from '../../src/train/index.js';

const batch = Number(process.env.BATCH ?? 32);
const steps = Number(process.env.STEPS ?? 10);
const warmup = 2;
setNumThreads(1);
const place = workerPlace();
const parallel: Parallelism = place === null ? SINGLE_PROCESS : joinRun(place, { device: 'cpu', timeoutMs: 600_000, overlap: process.env.OVERLAP !== '0' });

const config = resolveConfig({ flags: { dataset: 'fashion-mnist', method: 'mdprop', batchSize: String(batch), threads: '1', out: '/tmp/unused' } });
const parts = buildParts(config, 5);
const { model, method, criterion, optimizer } = parts;
const sync = parallel.stepSync(model.parameters(), criterion.parameters());
if (process.env.SYNC_BN === '1') setBatchStatsSync(model, parallel.batchStatsSync() ?? null);
manualSeed(100 + parallel.rank);
const images = randn([batch, 1, 28, 28]);
const labels = tensor(Array.from({ length: batch }, (_, i) => (i >> 1) % 5), [batch]).to('int64');

let started = 0;
let reduceAtStart = 0;
for (let step = 0; step < warmup + steps; step++) {
  if (step === warmup) {
    started = performance.now();
    reduceAtStart = parallel.reduceSeconds;
  }
  tidy(() => methodStep({ model, method, criterion, optimizer, ...(sync ? { sync } : {}) }, images, labels));
}
const seconds = (performance.now() - started) / 1000;
// The all-reduce alone: one flat tensor of all the gradients, after a barrier so that waiting for
// the slower rank is not counted.
const flat = zeros([model.parameters().reduce((n, p) => n + p.numel, 0)]);
let pureMs = 0;
if (place !== null) {
  const { group } = parallel as DataParallel;
  for (let i = 0; i < 10; i++) {
    group.barrier();
    const t0 = performance.now();
    group.allReduce([flat]);
    pureMs += (performance.now() - t0) / 10;
  }
}
if (parallel.writes) {
  writeFileSync(
    process.env.RESULT_FILE ?? 'scaling.json',
    JSON.stringify({
      worldSize: parallel.worldSize,
      perRankBatch: batch,
      steps,
      seconds,
      imagesPerSecond: (parallel.worldSize * batch * steps) / seconds,
      allReduceMsPerStep: ((parallel.reduceSeconds - reduceAtStart) / steps) * 1000,
      pureAllReduceMs: pureMs,
      gradientBytes: flat.numel * 4,
    }),
  );
}
parallel.close();
