// CPU vs CUDA check of the dml layer, for a GPU machine; prints one JSON object.
//   node dist/bench/metrics-cuda.js [--device cuda]
// - every loss (fixed triplets where a miner would draw, parameters copied across): value and
//   embedding gradient on both devices;
// - each miner runs on the device and returns valid triplets;
// - retrievalMetrics on 4,000 clustered embeddings: retrieval metrics on both devices, and
//   the k-means metrics (which may pick other centres when float rounding differs).
import {
  createLoss,
  createMiner,
  createDistance,
  defaultLossSpec,
  retrievalMetrics,
  LOSS_NAMES,
  positivePairs,
  type Miner,
  type MinerOptions,
  type Triplets,
} from '../src/dml/index.js';
import { grad, manualSeed, randint, randn, resolveDevice, tensor, tidy, type Tensor } from '../src/torch/index.js';

const device = resolveDevice(process.argv[process.argv.indexOf('--device') + 1] ?? 'cuda');

function fixedMiner(labels: number[]): Miner {
  const { anchors, positives } = positivePairs(labels);
  const negatives = anchors.map((a) => labels.findIndex((l) => l !== labels[a]));
  const on = (values: number[], like: Tensor): Tensor => tensor(values, [values.length], { dtype: 'int64', device: like.device === 'cpu' ? undefined : like.device });
  return { name: 'fixed', mine: (e): Triplets => ({ anchors: on(anchors, e), positives: on(positives, e), negatives: on(negatives, e) }) };
}

function maxAbs(a: number[], b: number[]): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

manualSeed(0);
const labelList = Array.from({ length: 32 }, (_, i) => i % 8);
const losses = LOSS_NAMES.map((name) =>
  tidy(() => {
    const spec = defaultLossSpec(name, { numClasses: 8, embeddingDim: 16 });
    const withMiner = name === 'triplet' || name === 'margin' || name === 'contrastive' ? { ...spec, miner: fixedMiner(labelList) } : spec;
    const cpu = createLoss({ loss: withMiner, embeddingDim: 16 });
    const gpu = createLoss({ loss: withMiner, embeddingDim: 16, placement: { device } });
    gpu.parameters().forEach((p, i) => p.detach().copy_(cpu.parameters()[i]!.detach().to(device)));
    const x = randn([32, 16]);
    const run = (loss: typeof cpu, on: string) => {
      const input = x.to(on).setRequiresGrad(true);
      const value = loss.compute(input, tensor(labelList, [32], { dtype: 'int64' }).to(on));
      const [g] = grad(value, [input]);
      return { value: value.item(), grad: g!.toNumbers() };
    };
    const a = run(cpu, 'cpu');
    const b = run(gpu, device);
    cpu.dispose();
    gpu.dispose();
    return { loss: name, cpu: a.value, cuda: b.value, grad_max_abs_diff: maxAbs(a.grad, b.grad) };
  }),
);

const minerOptions: MinerOptions[] = [{ name: 'random' }, { name: 'semihard' }, { name: 'distanceweighted' }];
const miners = minerOptions.map((options) =>
  tidy(() => {
    const x = randn([32, 16], { device });
    const labels = tensor(labelList, [32], { dtype: 'int64' }).to(device);
    const t = createMiner(options, { distance: createDistance('euclidean'), margin: 0.2 }).mine(x, labels);
    const [a, p, n] = [t.anchors.toNumbers(), t.positives.toNumbers(), t.negatives.toNumbers()];
    const valid = a.every((anchor, i) => labelList[p[i]!] === labelList[anchor] && labelList[n[i]!] !== labelList[anchor] && p[i] !== anchor);
    return { miner: options.name, triplets: a.length, valid, device: t.negatives.device };
  }),
);

const metrics = tidy(() => {
  const labels = randint(0, 500, [4000]);
  const x = randn([500, 64]).indexSelect(0, labels).add(randn([4000, 64]).mul(1.2));
  const cpu = retrievalMetrics({ queries: x, queryLabels: labels, ks: [1, 10] });
  const start = performance.now();
  const gpu = retrievalMetrics({ queries: x.to(device), queryLabels: labels.to(device), ks: [1, 10] });
  return { cpu, cuda: gpu, cuda_seconds: (performance.now() - start) / 1000 };
});

process.stdout.write(`${JSON.stringify({ bench: 'metrics-cuda', device, losses, miners, metrics })}\n`);
