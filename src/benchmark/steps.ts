// Timing training steps of a method on random data: the figure `mdprop bench` reports and
// bench/reference/mdprop_step.py reproduces with PyTorch. The model, loss and optimizer are built
// by training's own buildParts (multi-similarity loss, Adam lr 1e-5, weight decay 4e-4, the
// method's preset at the authors' eps 0.01 and 1 iteration) under one compute setting; each step
// is the trainer's step (attacks in eval mode, one joint forward with segment routing), on a batch
// of normal noise with 2 images per class, after `warmup` untimed steps. Two other tasks time what
// evaluation does with a batch: embedding it (no gradients), and attacking it (10 iterations of
// untargeted feature-space PGD at eps 0.1, step 2.5 eps / iters, then its embedding).
import { featurePgd } from '../adversarial/index.js';
import { resolveCompute } from '../evaluate/index.js';
import { methodStep, type MethodName } from '../methods/index.js';
import { forwardFlops, freezeParameters, type Arch, type EmbeddingModel, type MemoryFormatName, type Precision } from '../nn/index.js';
import { cuda, noGrad, profileOps, randn, tensor, tidy, torchVersion, type OpTime, type Tensor } from '../torch/index.js';
import { buildParts, disposeParts, type PartsSettings } from '../train/index.js';

export interface BenchSettings {
  method: MethodName;
  arch: Arch;
  imageSize: number;
  batchSize: number;
  steps: number;
  warmup: number;
  threads: number;
  embedDim: number;
  channels: 1 | 3;
  /** Default cpu. */
  device?: string;
  seed: number;
  /** Default fp32. */
  precision?: Precision;
  /** Default: the precision's (defaultMemoryFormat). */
  memoryFormat?: MemoryFormatName;
  /** Default step. */
  task?: BenchTask;
  /** Time the timed steps op by op with libtorch's profiler (which slows them a little). */
  profile?: boolean;
}

/** One aten op's time per timed step, as `--profile` reports it. */
export interface BenchOpTime {
  name: string;
  calls_per_step: number;
  self_ms_per_step: number;
  total_ms_per_step: number;
}

export const BENCH_TASKS = ['step', 'embed', 'attack'] as const;
export type BenchTask = (typeof BENCH_TASKS)[number];

/** The evaluation tasks' attack: as `mdprop eval --attacks untargeted --eps 0.1 --iters 10`. */
const ATTACK = { eps: 0.1, iters: 10 };

/** The JSON `mdprop bench` prints (snake_case keys, as the PyTorch reference prints them). */
export interface BenchReport {
  ms_per_step: number;
  /** Fastest single step. */
  ms_per_step_min: number;
  /**
   * Processor time of this process per timed step (all its threads): with one thread, the step's
   * work whatever else the machine runs, so a loaded machine can still compare two builds.
   */
  cpu_ms_per_step: number;
  /** Clean images of the batch per second. */
  images_per_s: number;
  /** Images through the joint forward per step (clean plus every attack's slice). */
  forward_images_per_step: number;
  peak_rss_mb: number;
  /**
   * Convolution and matrix-product work of one step in GFLOP, from the layers' shapes: every
   * forward pass, its backward counted twice (input and weight gradients), or once for an
   * attack's backward (input gradients only).
   */
  gflop_per_step: number;
  /** gflop_per_step over the mean step time. */
  gflop_per_s: number;
  precision: Precision;
  memory_format: MemoryFormatName;
  task: BenchTask;
  method: string;
  arch: string;
  image_size: number;
  batch_size: number;
  steps: number;
  warmup: number;
  threads: number;
  embed_dim: number;
  device: string;
  engine: string;
  /** With profile: the 30 ops with the most self time, per timed step. */
  ops?: BenchOpTime[];
}

/** What training builds for the bench: the authors' loss, optimizer and attack settings, the method's preset. */
function partsSettings(s: BenchSettings): PartsSettings {
  return {
    method: s.method, eps: 0.01, attackIters: 1, mtaxTargets: 5, attackStep: null, seed: s.seed,
    normalization: 'mean-std', arch: s.arch, embedDim: s.embedDim, channels: s.channels, pretrained: null, auxBnInit: 'copy',
    loss: 'multisimilarity', optimizer: 'adam', lr: 1e-5, lrHead: null, lrMainBn: null, lrAuxBn: null, weightDecay: 4e-4, schedule: 'constant', epochs: 1,
    precision: s.precision ?? 'fp32',
  };
}

/** Throws OptionError naming `device` or `precision` where the compute setting cannot run here. */
export function benchTrainingSteps(s: BenchSettings): BenchReport {
  const compute = resolveCompute(
    { device: s.device, precision: s.precision, memoryFormat: s.memoryFormat, threads: s.threads },
    { imageSize: s.imageSize, testResize: s.imageSize, channels: s.channels, normalization: 'mean-std' },
  );
  const { device, precision, memoryFormat } = compute;
  const parts = buildParts(partsSettings(s), s.batchSize / 2, compute);
  const { model, method, criterion, optimizer, lossScale } = parts;
  const perImage = forwardFlops(model, [1, s.channels, s.imageSize, s.imageSize], device);
  // The joint pass: forward + backward (2x) over every image; each attack: a clean forward, then per
  // iteration a forward and an input-only backward.
  const task = s.task ?? 'step';
  const attacked = method.distributions.reduce((a, d) => a + Math.round((d.part[1] - d.part[0]) * s.batchSize) * (1 + 2 * d.iters), 0);
  const labelValues = Array.from({ length: s.batchSize }, (_, i) => Math.floor(i / 2));
  const shape = [s.batchSize, s.channels, s.imageSize, s.imageSize];
  const times: number[] = [];
  const cpuTimes: number[] = [];
  let forwardImages = 0;
  const opTotals = new Map<string, OpTime>();
  try {
    for (let i = 0; i < s.warmup + s.steps; i++) {
      const images = randn(shape, { device });
      const labels = tensor(labelValues, [s.batchSize], { dtype: 'int64', device });
      const started = performance.now();
      const cpuStarted = process.cpuUsage();
      const work = () => {
        const out = tidy(() => (task === 'step' ? methodStep({ model, method, criterion, optimizer, ...(lossScale ? { lossScale } : {}) }, images, labels) : evaluationTask(model, task, images)));
        if (device !== 'cpu') cuda.synchronize();
        return out;
      };
      let result: { samplesPerBranch: number[] };
      if (s.profile && i >= s.warmup) {
        const profiled = profileOps(work);
        result = profiled.result;
        for (const op of profiled.ops) addOpTime(opTotals, op);
      } else result = work();
      if (i >= s.warmup) {
        times.push(performance.now() - started);
        const cpu = process.cpuUsage(cpuStarted);
        cpuTimes.push((cpu.user + cpu.system) / 1000);
      }
      forwardImages = result.samplesPerBranch.reduce((a, b) => a + b, 0);
      images.dispose();
      labels.dispose();
    }
  } finally {
    disposeParts(parts);
  }
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  // embed: one forward; attack: a clean forward, per iteration a forward and an input-only backward, a last forward.
  const perBatch = task === 'step' ? 3 * forwardImages + attacked : task === 'embed' ? s.batchSize : s.batchSize * (2 + 2 * ATTACK.iters);
  const gflop = (perImage * perBatch) / 1e9;
  return {
    ms_per_step: round(mean, 1),
    ms_per_step_min: round(Math.min(...times), 1),
    cpu_ms_per_step: round(cpuTimes.reduce((a, b) => a + b, 0) / cpuTimes.length, 1),
    images_per_s: round((s.batchSize * 1000) / mean, 2),
    forward_images_per_step: forwardImages,
    peak_rss_mb: round(process.resourceUsage().maxRSS / 1024, 1),
    gflop_per_step: round(gflop, 2),
    gflop_per_s: round((gflop * 1000) / mean, 1),
    precision,
    memory_format: memoryFormat,
    task,
    method: s.method,
    arch: s.arch,
    image_size: s.imageSize,
    batch_size: s.batchSize,
    steps: s.steps,
    warmup: s.warmup,
    threads: s.threads,
    embed_dim: s.embedDim,
    device,
    engine: `libtorch ${torchVersion} (mdprop)`,
    ...(s.profile ? { ops: topOps(opTotals, times.length) } : {}),
  };
}

function addOpTime(totals: Map<string, OpTime>, op: OpTime): void {
  const t = totals.get(op.name) ?? { name: op.name, calls: 0, totalMs: 0, selfMs: 0 };
  totals.set(op.name, { name: op.name, calls: t.calls + op.calls, totalMs: t.totalMs + op.totalMs, selfMs: t.selfMs + op.selfMs });
}

function topOps(totals: Map<string, OpTime>, steps: number): BenchOpTime[] {
  return [...totals.values()]
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, 30)
    .map((t) => ({ name: t.name, calls_per_step: round(t.calls / steps, 1), self_ms_per_step: round(t.selfMs / steps, 2), total_ms_per_step: round(t.totalMs / steps, 2) }));
}

/** One batch of an evaluation task, the model in eval mode with its weights out of autograd. */
function evaluationTask(model: EmbeddingModel, task: 'embed' | 'attack', images: Tensor): { samplesPerBranch: number[] } {
  model.eval();
  const thaw = freezeParameters(model);
  try {
    if (task === 'embed') noGrad(() => model.forward(images));
    else {
      const embed = (x: Tensor) => model.forward(x);
      const clean = noGrad(() => embed(images));
      const wide = { kind: 'fixed' as const, min: -1e6, max: 1e6 };
      const adversarial = featurePgd(embed, images, { kind: 'untargeted', clean }, { ...ATTACK, stepSize: (2.5 * ATTACK.eps) / ATTACK.iters, randomStart: ATTACK.eps, range: wide });
      noGrad(() => embed(adversarial));
    }
  } finally {
    thaw();
    model.train();
  }
  return { samplesPerBranch: [images.shape[0]!] };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
