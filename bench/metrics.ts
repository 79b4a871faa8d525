// Benchmark of the evaluation metrics at SOP scale; prints one JSON object on stdout.
//   node dist/bench/metrics.js [--n 60000] [--dim 128] [--classes 11316] [--noise 1.4] [--seed 0] [--device cpu]
// Random clustered embeddings: class centres N(0, I), samples centre + noise * N(0, I) (the
// default puts Recall@1 mid-range), labels drawn uniformly from the classes (SOP's test split:
// 60,502 images of 11,316 classes). One retrievalMetrics call
// with every metric (Recall@1/10/100/1000, MAP@R, R-precision, mAP, k-means NMI/F1 with
// k = classes, pi-ratio, rho-spectrum); reports wall seconds per stage, the process's CPU
// seconds (on a machine shared with other jobs, wall time overstates the cost) and peak RSS.
import os from 'node:os';
import { retrievalMetrics, type MetricsStage } from '../src/dml/index.js';
import { getNumThreads, manualSeed, randint, randn, resolveDevice, tidy } from '../src/torch/index.js';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} must be a non-negative integer`);
  return value;
}

function real(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!(value >= 0)) throw new Error(`--${name} must be a non-negative number`);
  return value;
}

function text(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] ?? fallback : fallback;
}

const n = flag('n', 60_000);
const dim = flag('dim', 128);
const classes = flag('classes', 11_316);
const noise = real('noise', 1.4);
const seed = flag('seed', 0);
const device = resolveDevice(text('device', 'cpu'));
const ks = [1, 10, 100, 1000];

manualSeed(seed);
const { embeddings, labels } = tidy(() => {
  const onDevice = device === 'cpu' ? undefined : device;
  const labels = randint(0, classes, [n], { device: onDevice });
  const centres = randn([classes, dim], { device: onDevice });
  return { embeddings: centres.indexSelect(0, labels).add(randn([n, dim], { device: onDevice }).mul(noise)), labels };
});

const stageEnds = new Map<MetricsStage, number>();
const cpuBefore = process.resourceUsage();
const start = performance.now();
const report = retrievalMetrics({
  queries: embeddings,
  queryLabels: labels,
  ks,
  clustering: { seed },
  onProgress: (stage) => stageEnds.set(stage, performance.now()),
});
const end = performance.now();
const cpuAfter = process.resourceUsage();
const cpuSeconds = (cpuAfter.userCPUTime + cpuAfter.systemCPUTime - cpuBefore.userCPUTime - cpuBefore.systemCPUTime) / 1e6;
const retrievalEnd = stageEnds.get('retrieval') ?? start;
const initEnd = stageEnds.get('kmeans-init') ?? retrievalEnd;
const kmeansEnd = stageEnds.get('kmeans') ?? initEnd;
const seconds = (a: number, b: number): number => Math.round((b - a) / 10) / 100;

process.stdout.write(
  `${JSON.stringify({
    bench: 'metrics',
    n,
    dim,
    classes,
    noise,
    device,
    threads: getNumThreads(),
    cpus: os.cpus().length,
    seconds: seconds(start, end),
    cpu_seconds: Math.round(cpuSeconds * 100) / 100,
    stages: {
      retrieval_s: seconds(start, retrievalEnd),
      kmeans_init_s: seconds(retrievalEnd, initEnd),
      kmeans_lloyd_s: seconds(initEnd, kmeansEnd),
      embedding_space_s: seconds(kmeansEnd, end),
    },
    peak_rss_mib: Math.round(process.resourceUsage().maxRSS / 1024),
    metrics: report,
  })}\n`,
);
embeddings.dispose();
labels.dispose();
