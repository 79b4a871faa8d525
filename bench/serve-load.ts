// The retrieval service on loopback under load; prints one JSON object on stdout.
//   node dist/bench/serve-load.js [--fm-model RUN_OR_FILE] [--seconds 10] [--max-requests 600]
//                                 [--concurrency 1,8,32] [--threads 2] [--only fm|resnet18] [--omp-wait-policy PASSIVE]
//                                 [--max-wait-ms 50] [--places worker,main]
// Two models: the Fashion-MNIST one (a run's model, 28x28 grey; default: an untrained resnet-small
// of the same shape) and ResNet-18 at 224 (untrained weights: the speed does not depend on them).
// Each gets a gallery of 300 images and a service (`mdprop serve`, a child process with
// --threads libtorch threads) with batching on (--max-batch 32 --max-wait-ms 50) and off
// (--max-batch 1). A load generator in this process (node:http, keep-alive, one connection per
// client) keeps `concurrency` searches in flight for --seconds (at most --max-requests) after a
// warm-up, and reports requests per second, p50/p99 latency, failures and the mean batch size
// the service saw (its /metrics). Meanwhile a probe asks /healthz every 20 ms and reports its
// latency: with the model in its worker thread (the default) the HTTP side answers mid-batch; with
// `--inference main` (batching on, the `main` place of --places) it waits for the batch to end.
import { execSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { writeModelFile } from '../src/formats/index.js';
import { createModel, type Arch } from '../src/nn/index.js';
import { buildIndex, resolveModelFile } from '../src/retrieval/index.js';
import * as T from '../src/torch/index.js';

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1]! : fallback;
}
const seconds = Number(flag('seconds', '10'));
const maxRequests = Number(flag('max-requests', '600'));
const concurrencies = flag('concurrency', '1,8,32').split(',').map(Number);
const threads = Number(flag('threads', '2'));
const only = flag('only', '');
const ompWaitPolicy = flag('omp-wait-policy', 'PASSIVE');
const batchWaitMs = Number(flag('max-wait-ms', '50'));
const places = flag('places', 'worker,main').split(',');
const fmModel = process.argv.includes('--fm-model') ? resolveModelFile(flag('fm-model', '')) : null;
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const work = mkdtempSync(join(os.tmpdir(), 'mdprop-bench-serve-'));
const GALLERY = 300;

async function noiseImage(side: number, channels: 1 | 3, seed: number): Promise<Buffer> {
  const data = Buffer.alloc(side * side * channels);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  return sharp(data, { raw: { width: side, height: side, channels } }).png().toBuffer();
}

interface Setup {
  name: string;
  index: string;
  queries: Buffer[];
}

async function prepare(name: string, arch: Arch, inChannels: 1 | 3, imageSize: number, testResize: number, side: number, model: string | null): Promise<Setup> {
  const dir = join(work, name);
  const images = join(dir, 'images');
  mkdirSync(join(images, 'all'), { recursive: true });
  const queries: Buffer[] = [];
  for (let i = 0; i < GALLERY; i++) {
    const png = await noiseImage(side, inChannels, i + 1);
    if (i < 64) queries.push(png);
    await sharp(png).toFile(join(images, 'all', `${String(i).padStart(4, '0')}.png`));
  }
  let file = model;
  if (file === null) {
    file = join(dir, 'model.safetensors');
    T.manualSeed(1);
    const m = createModel({ arch, embedDim: 128, inChannels });
    writeModelFile(file, m, { arch, embedDim: 128, inChannels, imageSize, testResize, method: 'baseline', dataset: 'bench', epoch: 0 });
    m.dispose();
  }
  const index = join(dir, 'index');
  await buildIndex({ images }, { model: file, out: index, batchSize: 32 });
  return { name, index, queries };
}

async function startServe(index: string, maxBatch: number, maxWaitMs: number, inference: string): Promise<{ child: ChildProcess; port: number }> {
  const args = ['serve', '--index', index, '--port', '0', '--max-batch', String(maxBatch), '--max-wait-ms', String(maxWaitMs), '--max-queue', '1024', '--threads', String(threads), '--inference', inference];
  const child = spawn(process.execPath, [CLI, ...args], {
    // On a shared machine, OpenMP threads that spin while waiting fight other processes for the
    // cores (measured here: 1-2 s per request instead of 0.2 s at load 15); passive waiting avoids it.
    env: { ...process.env, MDPROP_QUIET: '1', OMP_WAIT_POLICY: ompWaitPolicy },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let text = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      text += c.toString();
      const m = /127\.0\.0\.1:(\d+)\//.exec(text);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`serve exited (${code}): ${text}`)));
  });
  return { child, port };
}

function request(agent: http.Agent, port: number, method: string, path: string, body?: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent, headers: body ? { 'content-type': 'image/png', 'content-length': body.length } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function load(port: number, queries: Buffer[], concurrency: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  for (let i = 0; i < Math.max(4, concurrency); i++) await request(agent, port, 'POST', '/v1/search?k=10', queries[i % queries.length]); // warm-up
  const metricsBefore = (await request(agent, port, 'GET', '/metrics')).text;
  const latencies: number[] = [];
  let failures = 0;
  let sent = 0;
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  let loading = true;
  const probeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const health: number[] = [];
  const probe = (async () => {
    while (loading) {
      const t0 = performance.now();
      await request(probeAgent, port, 'GET', '/healthz');
      health.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const client = async () => {
    while (sent < maxRequests && performance.now() < deadline) {
      const q = queries[sent++ % queries.length]!;
      const t0 = performance.now();
      try {
        const res = await request(agent, port, 'POST', '/v1/search?k=10', q);
        if (res.status !== 200) failures++;
      } catch {
        failures++;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const elapsed = (performance.now() - start) / 1000;
  loading = false;
  await probe;
  probeAgent.destroy();
  const metricsAfter = (await request(agent, port, 'GET', '/metrics')).text;
  agent.destroy();
  const read = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  const batches = read(metricsAfter, 'mdprop_batch_size_count') - read(metricsBefore, 'mdprop_batch_size_count');
  const images = read(metricsAfter, 'mdprop_batch_size_sum') - read(metricsBefore, 'mdprop_batch_size_sum');
  const quantile = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return (p: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! * 10) / 10;
  };
  const q = quantile(latencies);
  const h = quantile(health);
  return {
    concurrency,
    requests: latencies.length,
    failures,
    seconds: Math.round(elapsed * 10) / 10,
    requests_per_s: Math.round((latencies.length / elapsed) * 10) / 10,
    p50_ms: q(0.5),
    p99_ms: q(0.99),
    mean_batch: Math.round((images / Math.max(1, batches)) * 10) / 10,
    healthz_probes: health.length,
    healthz_p50_ms: h(0.5),
    healthz_p99_ms: h(0.99),
    healthz_max_ms: h(1),
  };
}

const setups: Setup[] = [];
if (only === '' || only === 'fm') setups.push(await prepare('fashion-mnist', 'resnet-small', 1, 28, 28, 28, fmModel));
if (only === '' || only === 'resnet18') setups.push(await prepare('resnet18-224', 'resnet18', 3, 224, 256, 256, null));
type LoadResult = Awaited<ReturnType<typeof load>> & { model: string; mode: string; inference: string; max_batch: number; max_wait_ms: number };
const results: LoadResult[] = [];
const modes = [
  ...(places.includes('worker') ? [{ mode: 'batching', maxBatch: 32, maxWait: batchWaitMs, inference: 'worker' }, { mode: 'no batching', maxBatch: 1, maxWait: 0, inference: 'worker' }] : []),
  ...(places.includes('main') ? [{ mode: 'batching, model on the HTTP thread', maxBatch: 32, maxWait: batchWaitMs, inference: 'main' }] : []),
];
try {
  for (const setup of setups) {
    for (const { mode, maxBatch, maxWait, inference } of modes) {
      const { child, port } = await startServe(setup.index, maxBatch, maxWait, inference);
      try {
        for (const c of concurrencies) {
          const r = await load(port, setup.queries, c);
          results.push({ model: setup.name, mode, inference, max_batch: maxBatch, max_wait_ms: maxWait, ...r });
          process.stderr.write(`${JSON.stringify(results.at(-1))}\n`);
        }
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? null : Math.round((a / b) * 100) / 100);
const speedups = setups.flatMap((s) =>
  concurrencies.map((c) => {
    const find = (mode: string) => results.find((r) => r.model === s.name && r.mode === mode && r.concurrency === c);
    const on = find('batching');
    const main = find('batching, model on the HTTP thread');
    return {
      model: s.name,
      concurrency: c,
      batching_speedup: ratio(on?.requests_per_s, find('no batching')?.requests_per_s),
      worker_vs_http_thread_throughput: ratio(on?.requests_per_s, main?.requests_per_s),
      healthz_p99_http_thread_over_worker: ratio(main?.healthz_p99_ms, on?.healthz_p99_ms),
    };
  }),
);
process.stdout.write(
  `${JSON.stringify({
    bench: 'serve-load',
    cpu: os.cpus()[0]?.model ?? 'unknown',
    threads,
    omp_wait_policy: ompWaitPolicy,
    node: process.version,
    uptime: execSync('uptime').toString().trim(),
    fm_model: fmModel ?? 'untrained resnet-small 28x28x1',
    gallery: GALLERY,
    seconds_per_run: seconds,
    max_requests_per_run: maxRequests,
    results,
    speedups,
    aim: 'batching >= 3x the throughput at concurrency 32',
  })}\n`,
);
