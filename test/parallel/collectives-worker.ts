// One rank of the collectives test, started by launchWorkers in a torchrun-style environment. It
// runs each collective on values that depend on its rank and writes what came back to
// $RESULT_DIR/rank-<r>.json. With MODE=die rank 1 leaves at once and rank 0 records the error.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDataset, limitSplit } from '../../src/data/index.js';
import { DataParallel, GradientReducer, ProcessGroup, workerPlace } from '../../src/parallel/index.js';
import { tensor, zeros } from '../../src/torch/index.js';

const place = workerPlace();
if (place === null) throw new Error('collectives-worker: run me with WORLD_SIZE above 1');
const { rank, worldSize } = place;
const out = (value: unknown) => writeFileSync(join(process.env.RESULT_DIR ?? '.', `rank-${rank}.json`), JSON.stringify(value));
const group = ProcessGroup.init({ backend: 'gloo', ...place, timeoutMs: Number(process.env.TIMEOUT_MS ?? 20000) });

if (process.env.MODE === 'die') {
  if (rank === 1) process.exit(3);
  try {
    for (let i = 0; i < 100; i++) group.allReduce([tensor([1, 2, 3])]);
    out({ error: null });
  } catch (err) {
    out({ error: (err as Error).message, name: (err as Error).name });
  }
  process.exit(0);
}

const values = (t: { toFloat32Array(): Float32Array }) => Array.from(t.toFloat32Array());
const result: Record<string, unknown> = {};

const sum = tensor([rank + 1, 10 * (rank + 1)]);
group.allReduce([sum], 'sum');
result.sum = values(sum);
const mean = tensor([rank + 1]);
group.allReduce([mean], 'mean');
result.mean = values(mean);
const max = tensor([rank, -rank]);
group.allReduce([max], 'max');
result.max = values(max);

const root = tensor([rank + 7, rank + 8, rank + 9]);
group.broadcast([root], 0);
result.broadcast = values(root);

result.gather = group.allGather(tensor([rank, rank + 0.5], [1, 2])).map(values);
group.barrier();

// Packed broadcast of tensors of two dtypes and shapes.
const dp = new DataParallel(group, place.localRank);
const weights = [tensor([rank, rank, rank, rank], [2, 2]), tensor([rank * 3])];
const steps = tensor([rank + 100]).to('int64');
dp.broadcast([...weights, steps]);
result.packed = [...weights.map(values), Array.from(steps.to("float32").toFloat32Array())];

// Bucketed gradients: tiny buckets force several collectives; a parameter without a gradient
// takes part with zeros.
const params = [zeros([3]).setRequiresGrad(true), zeros([2, 2]).setRequiresGrad(true), zeros([1]).setRequiresGrad(true)];
params[0]!.grad = tensor([rank + 1, rank + 2, rank + 3]);
params[1]!.grad = tensor([rank, rank, rank, rank], [2, 2]);
if (rank === 1) params[2]!.grad = tensor([5]);
const reducer = new GradientReducer(group, params, { op: 'sum', bucketBytes: 16 });
reducer.reduce();
result.buckets = reducer.buckets.length;
result.grads = params.map((p) => values(p.grad!));

result.anyRank = [dp.anyRank(rank === worldSize - 1), dp.anyRank(false)];

// A split of 7 images embedded in shares: each row holds the image's label and its index in the part.
const split = limitSplit((await openDataset('mnist')).evaluation.query, 7);
const rows = await dp.embedSplit(split, 2, async (part) => Float32Array.from({ length: part.size * 2 }, (_, i) => (i % 2 === 0 ? part.labels[i >> 1]! : rank)));
result.embedded = Array.from(rows);
result.labels = Array.from(split.labels);
out(result);
dp.close();
