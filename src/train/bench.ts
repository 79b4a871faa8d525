// Timing training steps of a method on random data: the figure `mdprop bench` reports and
// bench/reference/mdprop_step.py reproduces with PyTorch. Each step is the trainer's step (attacks
// in eval mode, one joint forward with segment routing, multi-similarity loss, Adam), on a batch of
// normal noise with 2 images per class, after `warmup` untimed steps.
import type { MethodName } from '../methods/index.js';
import { createLoss } from '../dml/index.js';
import { methodStep, modelParameterGroups, presetMethod } from '../methods/index.js';
import { convertToMultiBatchNorm, createModel, forwardFlops, precisionProblem, setComputeMode, type Arch, type MemoryFormatName, type Precision } from '../nn/index.js';
import { Adam } from '../optim/index.js';
import { cuda, manualSeed, randn, setNumThreads, tensor, tidy, torchVersion } from '../torch/index.js';

export interface BenchSettings {
  method: MethodName;
  arch: Arch;
  imageSize: number;
  batchSize: number;
  steps: number;
  warmup: number;
  threads: number;
  embedDim: number;
  channels: number;
  device: string;
  seed: number;
  /** Default fp32. */
  precision?: Precision;
  /** Default contiguous. */
  memoryFormat?: MemoryFormatName;
}

/** The JSON `mdprop bench` prints (snake_case keys, as the PyTorch reference prints them). */
export interface BenchReport {
  ms_per_step: number;
  /** Fastest single step. */
  ms_per_step_min: number;
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
}

export function benchTrainingSteps(s: BenchSettings): BenchReport {
  const precision = s.precision ?? 'fp32';
  const memoryFormat = s.memoryFormat ?? 'contiguous';
  const problem = precisionProblem(precision, s.device);
  if (problem) throw new Error(`precision ${precision} on ${s.device}: ${problem}`);
  setNumThreads(s.threads);
  manualSeed(s.seed);
  const method = presetMethod(s.method);
  const model = convertToMultiBatchNorm(createModel({ arch: s.arch, embedDim: s.embedDim, inChannels: s.channels }), method.branches).to(s.device);
  setComputeMode(model, { precision, memoryFormat });
  const perImage = forwardFlops(model, [1, s.channels, s.imageSize, s.imageSize], s.device);
  // The joint pass: forward + backward (2x) over every image; each attack: a clean forward, then per
  // iteration a forward and an input-only backward.
  const attacked = method.distributions.reduce((a, d) => a + Math.round((d.part[1] - d.part[0]) * s.batchSize) * (1 + 2 * d.iters), 0);
  const criterion = createLoss({ loss: { name: 'multisimilarity' }, embeddingDim: s.embedDim });
  const optimizer = new Adam(modelParameterGroups(model, { backbone: 1e-5 }), { lr: 1e-5, weightDecay: 4e-4 });
  const labelValues = Array.from({ length: s.batchSize }, (_, i) => Math.floor(i / 2));
  const shape = [s.batchSize, s.channels, s.imageSize, s.imageSize];
  const times: number[] = [];
  let forwardImages = 0;
  try {
    for (let i = 0; i < s.warmup + s.steps; i++) {
      const images = randn(shape, { device: s.device });
      const labels = tensor(labelValues, [s.batchSize], { dtype: 'int64', device: s.device });
      const started = performance.now();
      const result = tidy(() => methodStep({ model, method, criterion, optimizer }, images, labels));
      if (s.device !== 'cpu') cuda.synchronize();
      if (i >= s.warmup) times.push(performance.now() - started);
      forwardImages = result.samplesPerBranch.reduce((a, b) => a + b, 0);
      images.dispose();
      labels.dispose();
    }
  } finally {
    optimizer.dispose();
    criterion.dispose();
    model.dispose();
  }
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const gflop = (perImage * (3 * forwardImages + attacked)) / 1e9;
  return {
    ms_per_step: round(mean, 1),
    ms_per_step_min: round(Math.min(...times), 1),
    images_per_s: round((s.batchSize * 1000) / mean, 2),
    forward_images_per_step: forwardImages,
    peak_rss_mb: round(process.resourceUsage().maxRSS / 1024, 1),
    gflop_per_step: round(gflop, 2),
    gflop_per_s: round((gflop * 1000) / mean, 1),
    precision,
    memory_format: memoryFormat,
    method: s.method,
    arch: s.arch,
    image_size: s.imageSize,
    batch_size: s.batchSize,
    steps: s.steps,
    warmup: s.warmup,
    threads: s.threads,
    embed_dim: s.embedDim,
    device: s.device,
    engine: `libtorch ${torchVersion} (mdprop)`,
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
