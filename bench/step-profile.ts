// Where an MDProp training step's time goes, measured A/B in one process (rounds alternate so both
// variants see the same machine load). Parts: the attacks made with one eval-mode pass per
// distribution vs. one routed pass for all (weights frozen in both; on a CPU the step takes one
// pass per distribution, see jointAttackPays); the whole step; and a baseline step for scale.
// Prints JSON (medians in ms, of wall time and of this process's processor time: with one thread
// the latter is the work itself, whatever else the machine runs).
//   node dist/bench/step-profile.js [--arch resnet18] [--image-size 64] [--batch-size 32] [--threads 2] [--rounds 5]
//     [--precision fp32|bf16] [--memory-format contiguous|channels-last]
import { parseArgs } from 'node:util';
import { createLoss } from '../src/dml/index.js';
import { distributionJobs, makeDistributions, makeDistribution, methodStep, modelParameterGroups, presetMethod, type MethodSpec } from '../src/methods/index.js';
import { convertToMultiBatchNorm, createModel, defaultMemoryFormat, isMemoryFormatName, isPrecision, setBnRouting, setComputeMode, withFrozenParameters, type Arch, type EmbeddingModel, type MemoryFormatName, type Precision } from '../src/nn/index.js';
import { Adam } from '../src/optim/index.js';
import { manualSeed, randn, setNumThreads, tensor, tidy, type Tensor } from '../src/torch/index.js';

const { values } = parseArgs({
  options: {
    arch: { type: 'string', default: 'resnet18' },
    'image-size': { type: 'string', default: '64' },
    'batch-size': { type: 'string', default: '32' },
    threads: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '5' },
    precision: { type: 'string', default: 'fp32' },
    'memory-format': { type: 'string' },
  },
});
if (!isPrecision(values.precision!)) throw new Error(`--precision: unknown precision '${values.precision}'`);
const precision: Precision = values.precision;
const format = values['memory-format'] ?? defaultMemoryFormat(precision);
if (!isMemoryFormatName(format)) throw new Error(`--memory-format: unknown memory format '${format}'`);
const memoryFormat: MemoryFormatName = format;
const size = Number(values['image-size']);
const batch = Number(values['batch-size']);
setNumThreads(Number(values.threads));
manualSeed(0);

function setup(name: 'baseline' | 'mdprop') {
  const method = presetMethod(name);
  const model = convertToMultiBatchNorm(createModel({ arch: values.arch as Arch, embedDim: 128, inChannels: 3 }), method.branches);
  setComputeMode(model, { precision, memoryFormat });
  const criterion = createLoss({ loss: { name: 'multisimilarity' }, embeddingDim: 128 });
  const optimizer = new Adam(modelParameterGroups(model, { backbone: 1e-5 }), { lr: 1e-5, weightDecay: 4e-4 });
  return { model, method, criterion, optimizer };
}

/** The attacks with one eval-mode pass per distribution. */
function separatePieces(model: EmbeddingModel, method: MethodSpec, images: Tensor, labels: Tensor): Tensor[] {
  model.eval();
  const jobs = distributionJobs(method, images, labels);
  const out = withFrozenParameters(model, () => jobs.map((j) => makeDistribution(model, j.spec, j.images, j.labels)));
  setBnRouting(model, { kind: 'branch', branch: 0 });
  return out;
}

/** The attacks in one routed eval-mode pass for every distribution. */
function jointPieces(model: EmbeddingModel, method: MethodSpec, images: Tensor, labels: Tensor): Tensor[] {
  model.eval();
  const jobs = distributionJobs(method, images, labels);
  const out = withFrozenParameters(model, () => makeDistributions(model, jobs));
  setBnRouting(model, { kind: 'branch', branch: 0 });
  return out;
}

const cpuSamples: Record<string, number[]> = {};
function timed(fn: () => void, name: string): number {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  tidy(fn);
  const c = process.cpuUsage(c0);
  (cpuSamples[name] ??= []).push((c.user + c.system) / 1000);
  return performance.now() - t0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mdprop = setup('mdprop');
const baseline = setup('baseline');
const labels = tensor(Array.from({ length: batch }, (_, i) => Math.floor(i / 2)), [batch], { dtype: 'int64' });
const samples: Record<string, number[]> = { attacks_one_pass_each: [], attacks_joint: [], mdprop_step: [], baseline_step: [] };
for (let round = 0; round < Number(values.rounds) + 1; round++) {
  const images = randn([batch, 3, size, size]);
  const t = {
    attacks_one_pass_each: timed(() => void separatePieces(mdprop.model, mdprop.method, images, labels), 'attacks_one_pass_each'),
    attacks_joint: timed(() => void jointPieces(mdprop.model, mdprop.method, images, labels), 'attacks_joint'),
    mdprop_step: timed(() => void methodStep(mdprop, images, labels), 'mdprop_step'),
    baseline_step: timed(() => void methodStep(baseline, images, labels), 'baseline_step'),
  };
  images.dispose();
  if (round === 0) {
    for (const k of Object.keys(cpuSamples)) cpuSamples[k] = []; // warm-up
    continue;
  }
  for (const [k, v] of Object.entries(t)) samples[k]!.push(v);
}
const med = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, Math.round(median(v) * 10) / 10]));
process.stdout.write(
  `${JSON.stringify({
    settings: { arch: values.arch, image_size: size, batch_size: batch, threads: Number(values.threads), rounds: Number(values.rounds), precision, memory_format: memoryFormat },
    median_ms: med,
    median_cpu_ms: Object.fromEntries(Object.entries(cpuSamples).map(([k, v]) => [k, Math.round(median(v) * 10) / 10])),
    mdprop_step_in_baseline_steps: Math.round((med.mdprop_step! / med.baseline_step!) * 100) / 100,
    attacks_joint_over_one_pass_each: Math.round((med.attacks_joint! / med.attacks_one_pass_each!) * 100) / 100,
    samples_ms: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, v.map((x) => Math.round(x))])),
  })}\n`,
);
