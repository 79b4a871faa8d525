// bfloat16 convolutions as matrix products (src/nn/conv-matmul.ts) against libtorch's own, A/B in
// one process, rounds alternating: first single layers of ResNet-18 at 64x64 and ResNet-50 at
// 224x224 (forward; forward and input gradient, as attacks take; forward and both gradients, as
// training takes), then whole bf16 training steps with every convolution on 'auto' against every
// one on 'convolution'. Medians of wall time and of this process's processor time (with one
// thread, the work itself whatever else the machine runs). Prints JSON.
//   node dist/bench/conv-matmul.js [--threads 1] [--rounds 5] [--steps resnet18,resnet50] [--no-layers]
import { parseArgs } from 'node:util';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { createLoss } from '../src/dml/index.js';
import { methodStep, modelParameterGroups, presetMethod } from '../src/methods/index.js';
import { Conv2d, convertToMultiBatchNorm, createModel, Sequential, setComputeMode, type Arch, type ConvAlgorithm } from '../src/nn/index.js';
import { Adam } from '../src/optim/index.js';
import { cpuFlags, grad, manualSeed, noGrad, randn, setNumThreads, tensor, tidy, type Tensor } from '../src/torch/index.js';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '5' },
    steps: { type: 'string', default: 'resnet18,resnet50' },
    'no-layers': { type: 'boolean', default: false },
  },
});
setNumThreads(Number(values.threads));
manualSeed(0);
const rounds = Number(values.rounds);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const r2 = (x: number) => Math.round(x * 100) / 100;

/** Wall and processor milliseconds of fn. */
function time(fn: () => void): [number, number] {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  tidy(fn);
  const c = process.cpuUsage(c0);
  return [performance.now() - t0, (c.user + c.system) / 1000];
}

/** Runs each variant once per round, alternating; medians per variant. */
function ab(variants: Record<string, () => void>): Record<string, { wall_ms: number; cpu_ms: number }> {
  const samples: Record<string, [number[], number[]]> = {};
  for (const [name, fn] of Object.entries(variants)) {
    fn(); // warm-up
    samples[name] = [[], []];
  }
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of Object.entries(variants)) {
      const [wall, cpu] = time(fn);
      samples[name]![0].push(wall);
      samples[name]![1].push(cpu);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, [w, c]]) => [k, { wall_ms: r2(median(w)), cpu_ms: r2(median(c)) }]));
}

// [name, input shape, in, out, kernel, stride, padding]
const LAYERS: [string, number[], number, number, number, number, number][] = [
  ['r18 layer4 3x3 on 2x2', [32, 512, 2, 2], 512, 512, 3, 1, 1],
  ['r18 layer4 3x3 stride 2', [32, 256, 4, 4], 256, 512, 3, 2, 1],
  ['r18 layer3 3x3 on 4x4', [32, 256, 4, 4], 256, 256, 3, 1, 1],
  ['r50 layer4 1x1 2048->512', [16, 2048, 7, 7], 2048, 512, 1, 1, 0],
  ['r50 layer1 1x1 64->256', [16, 64, 56, 56], 64, 256, 1, 1, 0],
  ['r50 layer4 downsample 1x1 stride 2', [16, 1024, 14, 14], 1024, 2048, 1, 2, 0],
  ['r50 layer2 downsample 1x1 stride 2', [16, 256, 56, 56], 256, 512, 1, 2, 0],
];

function layerCase(shape: number[], inC: number, outC: number, k: number, s: number, p: number) {
  const conv = new Conv2d(inC, outC, k, { stride: s, padding: p, bias: false });
  setComputeMode(new Sequential(conv), { precision: 'bf16', memoryFormat: 'channels-last' });
  const x = randn(shape).to('bfloat16', 'channels_last');
  const g = noGrad(() => conv.forward(x)).detach();
  const variant = (algorithm: ConvAlgorithm, task: 'forward' | 'input' | 'both') => () => {
    conv.algorithm = algorithm;
    if (task === 'forward') return void noGrad(() => conv.forward(x));
    const input = x.detach().setRequiresGrad(true);
    const wanted: Tensor[] = task === 'both' ? [input, conv.weight] : [input];
    if (task === 'input') conv.weight.setRequiresGrad(false);
    grad(conv.forward(input), wanted, { gradOutputs: [g] });
    conv.weight.setRequiresGrad(true);
  };
  return { conv, x, g, variant };
}

const layers: Record<string, object> = {};
if (!values['no-layers']) {
  for (const [name, shape, inC, outC, k, s, p] of LAYERS) {
    const c = layerCase(shape, inC, outC, k, s, p);
    const result: Record<string, object> = {};
    for (const task of ['forward', 'input', 'both'] as const) {
      const m = ab({ convolution: c.variant('convolution', task), matmul: c.variant('matmul', task) });
      result[task === 'input' ? 'forward_and_input_gradient' : task === 'both' ? 'forward_and_both_gradients' : 'forward'] = { ...m, cpu_ratio_matmul_over_convolution: r2(m.matmul!.cpu_ms / m.convolution!.cpu_ms) };
    }
    layers[name] = result;
    c.conv.dispose();
    c.x.dispose();
    c.g.dispose();
  }
}

const steps: Record<string, object> = {};
for (const arch of values.steps!.split(',').filter(Boolean) as Arch[]) {
  const [size, batch] = arch === 'resnet50' ? [224, 16] : [64, 32];
  for (const name of ['baseline', 'mdprop'] as const) {
    const method = presetMethod(name);
    const model = convertToMultiBatchNorm(createModel({ arch, embedDim: 128, inChannels: 3 }), method.branches);
    setComputeMode(model, { precision: 'bf16', memoryFormat: 'channels-last' });
    const convs = model.namedModules().flatMap(([, m]) => (m instanceof Conv2d ? [m] : []));
    const criterion = createLoss({ loss: { name: 'multisimilarity' }, embeddingDim: 128 });
    const optimizer = new Adam(modelParameterGroups(model, { backbone: 1e-5 }), { lr: 1e-5, weightDecay: 4e-4 });
    const labels = tensor(Array.from({ length: batch }, (_, i) => Math.floor(i / 2)), [batch], { dtype: 'int64' });
    const images = randn([batch, 3, size, size]);
    const step = (algorithm: ConvAlgorithm) => () => {
      for (const c of convs) c.algorithm = algorithm;
      methodStep({ model, method, criterion, optimizer }, images, labels);
    };
    const m = ab({ auto: step('auto'), convolution: step('convolution') });
    steps[`${arch} ${name}`] = { ...m, cpu_ratio_auto_over_convolution: r2(m.auto!.cpu_ms / m.convolution!.cpu_ms), wall_ratio_auto_over_convolution: r2(m.auto!.wall_ms / m.convolution!.wall_ms) };
    for (const t of [images, labels]) t.dispose();
    optimizer.dispose();
    criterion.dispose();
    model.dispose();
  }
}

process.stdout.write(
  `${JSON.stringify(
    {
      settings: { threads: Number(values.threads), rounds },
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), amx_bf16: cpuFlags().has('amx_bf16'), load_average_at_end: loadavg().map(r2) },
      layers,
      steps,
    },
    null,
    2,
  )}\n`,
);
