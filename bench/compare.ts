// mdprop against PyTorch 1.13 on the same work: `mdprop bench` and bench/reference/mdprop_step.py
// run alternately (so both see the same machine load), several rounds each, and the ratio of
// their median times is printed as JSON (below 1: mdprop is faster). Cases: baseline and MDProp
// training steps of ResNet-18 at 64x64 batch 32 and ResNet-50 at 224x224 (batch 16 on a CPU, 64
// on a GPU); embedding and attacked-query throughput (10-iteration untargeted PGD) of ResNet-18;
// the Fashion-MNIST preset model (resnet-small, 28x28, 1 channel), which has no torchvision twin,
// timed on mdprop's side only. Peak resident memory is reported as the median over the rounds
// (one process each), since a single process's peak varies by tens of megabytes.
//   node dist/bench/compare.js [--cases r18,r18-embed,r18-attack,r50,fmnist] [--rounds 3] [--steps 5]
//     [--threads 2] [--device cpu] [--precision fp32|bf16|fp16] [--memory-format contiguous|channels-last]
import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: 'r18,r18-embed,r18-attack,r50,fmnist' },
    rounds: { type: 'string', default: '3' },
    steps: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    threads: { type: 'string', default: String(Math.min(2, availableParallelism())) },
    device: { type: 'string', default: 'cpu' },
    precision: { type: 'string', default: 'fp32' },
    'memory-format': { type: 'string', default: 'contiguous' },
    python: { type: 'string', default: process.env.MDPROP_REFERENCE_PYTHON ?? '/usr/bin/python3' },
  },
});
const gpu = values.device!.startsWith('cuda');

interface Case {
  arch: string;
  imageSize: number;
  batchSize: number;
  channels: number;
  task: 'step' | 'embed' | 'attack';
  methods: string[];
  /** Whether the PyTorch reference has the same network. */
  reference: boolean;
}

const CASES: Record<string, Case> = {
  r18: { arch: 'resnet18', imageSize: 64, batchSize: 32, channels: 3, task: 'step', methods: ['baseline', 'mdprop'], reference: true },
  'r18-embed': { arch: 'resnet18', imageSize: 64, batchSize: 64, channels: 3, task: 'embed', methods: ['baseline'], reference: true },
  'r18-attack': { arch: 'resnet18', imageSize: 64, batchSize: 32, channels: 3, task: 'attack', methods: ['baseline'], reference: true },
  r50: { arch: 'resnet50', imageSize: 224, batchSize: gpu ? 64 : 16, channels: 3, task: 'step', methods: ['baseline', 'mdprop'], reference: true },
  fmnist: { arch: 'resnet-small', imageSize: 28, batchSize: 64, channels: 1, task: 'step', methods: ['baseline', 'mdprop'], reference: false },
};

type Report = Record<string, number | string>;

function run(command: string, args: string[]): Report {
  const r = spawnSync(command, args, { cwd: root, encoding: 'utf8', env: { ...process.env, MDPROP_QUIET: '1' } });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Report;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const r2 = (x: number) => Math.round(x * 100) / 100;

const results: Record<string, object> = {};
for (const name of values.cases!.split(',')) {
  const c = CASES[name];
  if (!c) throw new Error(`--cases: unknown case '${name}'; expected some of ${Object.keys(CASES).join(', ')}`);
  for (const method of c.methods) {
    const common = [
      '--method', method, '--arch', c.arch, '--image-size', String(c.imageSize), '--batch-size', String(c.batchSize), '--channels', String(c.channels),
      '--task', c.task, '--steps', values.steps!, '--warmup', values.warmup!, '--threads', values.threads!, '--device', values.device!,
      '--precision', values.precision!, '--memory-format', values['memory-format']!, '--json',
    ];
    const ms: { mdprop: number[]; pytorch: number[] } = { mdprop: [], pytorch: [] };
    const rss: { mdprop: number[]; pytorch: number[] } = { mdprop: [], pytorch: [] };
    let last: { mdprop?: Report; pytorch?: Report } = {};
    for (let round = 0; round < Number(values.rounds); round++) {
      last.mdprop = run(process.execPath, [join(root, 'dist/src/cli/main.js'), 'bench', ...common]);
      ms.mdprop.push(Number(last.mdprop.ms_per_step));
      rss.mdprop.push(Number(last.mdprop.peak_rss_mb));
      if (c.reference) {
        last.pytorch = run(values.python!, [join(root, 'bench/reference/mdprop_step.py'), ...common]);
        ms.pytorch.push(Number(last.pytorch.ms_per_step));
        rss.pytorch.push(Number(last.pytorch.peak_rss_mb));
      }
    }
    const label = c.task === 'step' ? `${name} ${method}` : name;
    const per = c.task === 'step' ? 'ms_per_step' : 'ms_per_batch';
    results[label] = {
      settings: { arch: c.arch, image_size: c.imageSize, batch_size: c.batchSize, channels: c.channels, task: c.task, method },
      mdprop: { [`median_${per}`]: r2(median(ms.mdprop)), gflop_per_step: last.mdprop!.gflop_per_step, gflop_per_s: r2(Number(last.mdprop!.gflop_per_step) / (median(ms.mdprop) / 1000)), median_peak_rss_mb: r2(median(rss.mdprop)) },
      ...(c.reference ? { pytorch: { [`median_${per}`]: r2(median(ms.pytorch)), median_peak_rss_mb: r2(median(rss.pytorch)), engine: last.pytorch!.engine } } : {}),
      ...(c.reference ? { time_ratio_mdprop_over_pytorch: r2(median(ms.mdprop) / median(ms.pytorch)) } : {}),
      ...(c.task === 'attack' ? { attacked_queries_per_s: { mdprop: r2((c.batchSize * 1000) / median(ms.mdprop)), pytorch: r2((c.batchSize * 1000) / median(ms.pytorch)) } } : {}),
      ...(c.task === 'embed' ? { images_per_s: { mdprop: r2((c.batchSize * 1000) / median(ms.mdprop)), pytorch: r2((c.batchSize * 1000) / median(ms.pytorch)) } } : {}),
      rounds_ms: ms,
      rounds_peak_rss_mb: rss,
    };
    last = {};
  }
}

process.stdout.write(
  `${JSON.stringify(
    {
      settings: { rounds: Number(values.rounds), steps: Number(values.steps), warmup: Number(values.warmup), threads: Number(values.threads), device: values.device, precision: values.precision, memory_format: values['memory-format'] },
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), load_average_at_end: loadavg().map((l) => r2(l)) },
      results,
    },
    null,
    2,
  )}\n`,
);
