// Embedding throughput, side by side in one run: mdprop (libtorch), onnxruntime-node running the
// file `mdprop export` writes of the same weights, and PyTorch (bench/reference/embed_throughput.py,
// torchvision's ResNet with the same head). Each measurement is a separate process (its own thread
// pool, nothing shared), rounds alternate the order of the engines so all three see the same
// machine load, and the figure is the median time per batch over every timed call of every round.
// float32, eval mode, no autograd, random weights (speed does not depend on their values), noise
// images; the ONNX graph also scales the pixels by the mean and std (two elementwise operators),
// mdprop and PyTorch take inputs already scaled. The load (`uptime`) is recorded before and after.
//   node dist/bench/embed-throughput.js [--archs resnet18,resnet50] [--batches 1,32] [--image-size 224]
//     [--rounds 3] [--threads 2] [--iters N] [--embed-dim 128] [--python /usr/bin/python3]
// Prints one JSON object.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { embedTensor } from '../src/evaluate/index.js';
import { exportOnnx } from '../src/export/index.js';
import { loadModelFile, writeModelFile } from '../src/formats/index.js';
import { createModel, type Arch } from '../src/nn/index.js';
import { manualSeed, noGrad, rand, setNumThreads, tensor, tidy, torchVersion } from '../src/torch/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({
  options: {
    archs: { type: 'string', default: 'resnet18,resnet50' },
    batches: { type: 'string', default: '1,32' },
    'image-size': { type: 'string', default: '224' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: String(Math.min(2, availableParallelism())) },
    iters: { type: 'string' },
    'embed-dim': { type: 'string', default: '128' },
    python: { type: 'string', default: process.env.MDPROP_REFERENCE_PYTHON ?? '/usr/bin/python3' },
    // A worker: one engine, one model, one batch size (run by the driver in its own process).
    worker: { type: 'string' },
    file: { type: 'string' },
    'batch-size': { type: 'string' },
    warmup: { type: 'string' },
  },
});

const ENGINES = ['mdprop', 'onnxruntime', 'pytorch'] as const;
type Engine = (typeof ENGINES)[number];
const threads = Number(values.threads);
const imageSize = Number(values['image-size']);

interface WorkerReport {
  ms: number[];
  engine: string;
}

/** Times `iters` calls of `call` after `warmup` untimed ones. */
async function time(call: () => unknown, warmup: number, iters: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < warmup + iters; i++) {
    const started = performance.now();
    await call();
    if (i >= warmup) ms.push(performance.now() - started);
  }
  return ms;
}

async function worker(kind: string): Promise<void> {
  const batch = Number(values['batch-size']);
  const [warmup, iters] = [Number(values.warmup), Number(values.iters)];
  const shape = [batch, 3, imageSize, imageSize];
  let report: WorkerReport;
  if (kind === 'mdprop') {
    setNumThreads(threads);
    const loaded = loadModelFile(values.file!);
    const images = rand(shape);
    const ms = await time(() => tidy(() => void embedTensor(loaded.model, images)), warmup, iters);
    report = { ms, engine: `libtorch ${torchVersion} (mdprop)` };
  } else if (kind === 'onnxruntime') {
    const session = await ort.InferenceSession.create(values.file!, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
    const feeds = { images: new ort.Tensor('float32', Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, Math.random), shape) };
    const ms = await time(() => session.run(feeds), warmup, iters);
    report = { ms, engine: `onnxruntime-node ${ort.env.versions.node ?? ort.env.versions.common}` };
  } else throw new Error(`--worker: unknown engine '${kind}'`);
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

function runWorker(engine: Engine, arch: Arch, files: { model: string; onnx: string }, batch: number): WorkerReport {
  const [warmup, iters] = batch === 1 ? [3, Number(values.iters ?? 20)] : [1, Number(values.iters ?? 4)];
  const common = ['--batch-size', String(batch), '--warmup', String(warmup), '--iters', String(iters), '--threads', String(threads), '--image-size', String(imageSize)];
  const [command, args] =
    engine === 'pytorch'
      ? [values.python!, [join(root, 'bench/reference/embed_throughput.py'), '--arch', arch, '--embed-dim', values['embed-dim']!, ...common]]
      : [process.execPath, [fileURLToPath(import.meta.url), '--worker', engine, '--file', engine === 'mdprop' ? files.model : files.onnx, ...common]];
  const r = spawnSync(command, args, { cwd: root, encoding: 'utf8', env: { ...process.env, MDPROP_QUIET: '1' }, maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new Error(`${engine} worker failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as WorkerReport;
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/** The CPU as /proc/cpuinfo names it. */
function cpuName(): string {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(info)?.[1]?.trim();
    return `${field('model name') ?? cpus()[0]?.model} (family ${field('cpu family')} model ${field('model')}), ${availableParallelism()} cores`;
  } catch {
    return cpus()[0]?.model ?? 'unknown';
  }
}

const uptime = () => execFileSync('uptime', { encoding: 'utf8' }).trim();

/** Writes the model file and its ONNX export; checks that onnxruntime embeds a batch as mdprop does. */
async function prepare(arch: Arch, dir: string): Promise<{ model: string; onnx: string; maxAbsDiff: number }> {
  manualSeed(0);
  const embedDim = Number(values['embed-dim']);
  const model = createModel({ arch, embedDim }).eval();
  const files = { model: join(dir, `${arch}.safetensors`), onnx: join(dir, `${arch}.onnx`) };
  writeModelFile(files.model, model, { arch, embedDim, inChannels: 3, imageSize, testResize: imageSize, method: 'baseline', dataset: 'random', epoch: 0 });
  exportOnnx(model, files.onnx, { imageSize, testResize: imageSize });
  const shape = [2, 3, imageSize, imageSize];
  const pixels = Float32Array.from({ length: 2 * 3 * imageSize * imageSize }, Math.random);
  const session = await ort.InferenceSession.create(files.onnx, { intraOpNumThreads: threads });
  const onnx = (await session.run({ images: new ort.Tensor('float32', pixels, shape) })).embeddings!.data as Float32Array;
  await session.release();
  const ours = tidy(() =>
    noGrad(() => {
      const scale = (v: number[]) => tensor(new Float32Array(v), [1, 3, 1, 1]);
      return model.forward(tensor(pixels, shape).sub(scale([0.485, 0.456, 0.406])).div(scale([0.229, 0.224, 0.225]))).toFloat32Array();
    }),
  );
  model.dispose();
  const maxAbsDiff = ours.reduce((m, v, i) => Math.max(m, Math.abs(v - onnx[i]!)), 0);
  return { ...files, maxAbsDiff };
}

async function drive(): Promise<void> {
  const archs = values.archs!.split(',') as Arch[];
  const batches = values.batches!.split(',').map(Number);
  const rounds = Number(values.rounds);
  const dir = mkdtempSync(join(tmpdir(), 'mdprop-embed-throughput-'));
  const before = { uptime: uptime() };
  const started = Date.now();
  const engines: Partial<Record<Engine, string>> = {};
  const results: object[] = [];
  const parity: Record<string, number> = {};
  try {
    for (const arch of archs) {
      const files = await prepare(arch, dir);
      parity[arch] = files.maxAbsDiff;
      for (const batch of batches) {
        const ms: Record<Engine, number[]> = { mdprop: [], onnxruntime: [], pytorch: [] };
        const roundMedians: Record<Engine, number[]> = { mdprop: [], onnxruntime: [], pytorch: [] };
        for (let r = 0; r < rounds; r++) {
          // Rotate which engine goes first, so none always runs on a machine the previous one warmed.
          for (let i = 0; i < ENGINES.length; i++) {
            const engine = ENGINES[(i + r) % ENGINES.length]!;
            const report = runWorker(engine, arch, files, batch);
            engines[engine] = report.engine;
            ms[engine].push(...report.ms);
            roundMedians[engine].push(round(median(report.ms), 1));
          }
        }
        const figure = (e: Engine) => ({ ms_per_batch: round(median(ms[e]), 1), images_per_s: round((batch * 1000) / median(ms[e]), 1), round_medians_ms: roundMedians[e], calls: ms[e].length });
        const figures = { mdprop: figure('mdprop'), onnxruntime: figure('onnxruntime'), pytorch: figure('pytorch') };
        results.push({
          arch,
          image_size: imageSize,
          batch_size: batch,
          ...figures,
          onnxruntime_vs_mdprop: round(figures.onnxruntime.images_per_s / figures.mdprop.images_per_s, 2),
          pytorch_vs_mdprop: round(figures.pytorch.images_per_s / figures.mdprop.images_per_s, 2),
        });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const report = {
    cpu: cpuName(),
    threads,
    rounds,
    engines,
    uptime_before: before.uptime,
    uptime_after: uptime(),
    seconds: round((Date.now() - started) / 1000, 1),
    /** Max |Δ| between onnxruntime's and mdprop's embeddings of two images through the exported file. */
    onnx_max_abs_diff: parity,
    results,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

if (values.worker !== undefined) await worker(values.worker);
else await drive();
