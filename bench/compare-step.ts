// One training step of baseline and mdprop, mdprop (libtorch from TypeScript) beside the PyTorch
// reference (bench/reference/mdprop_step.py), same settings and thread count, runs interleaved so
// that both engines see the same machine load. Prints one JSON object.
//   node dist/bench/compare-step.js [--threads 2] [--steps 10] [--rounds 2] [--device cpu] [--python /usr/bin/python3]
// Defaults: ResNet-18, 64x64, batch 32 (the case of the performance table). For each engine and method it
// reports the round with the lowest ms_per_step (others' load only ever slows a round down) and
// every round's figure.
import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: String(Math.min(2, availableParallelism())) },
    steps: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '2' },
    arch: { type: 'string', default: 'resnet18' },
    'image-size': { type: 'string', default: '64' },
    'batch-size': { type: 'string', default: '32' },
    python: { type: 'string', default: '/usr/bin/python3' },
    device: { type: 'string', default: 'cpu' },
  },
});

type Report = Record<string, number | string>;

const common = [
  '--arch', values.arch!, '--image-size', values['image-size']!, '--batch-size', values['batch-size']!,
  '--steps', values.steps!, '--warmup', values.warmup!, '--threads', values.threads!, '--device', values.device!, '--json',
];

function run(command: string, args: string[]): Report {
  const r = spawnSync(command, args, { cwd: root, encoding: 'utf8', env: { ...process.env, MDPROP_QUIET: '1' } });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Report;
}

const engines = {
  mdprop: (method: string) => run(process.execPath, [join(root, 'dist/src/cli/main.js'), 'bench', '--method', method, ...common]),
  pytorch: (method: string) => run(values.python!, [join(root, 'bench/reference/mdprop_step.py'), '--method', method, ...common]),
};

const methods = ['baseline', 'mdprop'] as const;
const rounds: Record<string, Record<string, Report[]>> = {};
for (let round = 0; round < Number(values.rounds); round++) {
  for (const method of methods) {
    for (const [engine, bench] of Object.entries(engines)) {
      ((rounds[method] ??= {})[engine] ??= []).push(bench(method));
    }
  }
}

const fastest = (reports: Report[]) => reports.reduce((a, b) => (Number(b.ms_per_step) < Number(a.ms_per_step) ? b : a));
const results: Record<string, object> = {};
for (const method of methods) {
  const ours = fastest(rounds[method]!.mdprop!);
  const theirs = fastest(rounds[method]!.pytorch!);
  results[method] = {
    mdprop: { ms_per_step: ours.ms_per_step, images_per_s: ours.images_per_s, peak_rss_mb: ours.peak_rss_mb, engine: ours.engine },
    pytorch: { ms_per_step: theirs.ms_per_step, images_per_s: theirs.images_per_s, peak_rss_mb: theirs.peak_rss_mb, engine: theirs.engine },
    time_ratio_mdprop_over_pytorch: Math.round((Number(ours.ms_per_step) / Number(theirs.ms_per_step)) * 100) / 100,
    rounds_ms_per_step: { mdprop: rounds[method]!.mdprop!.map((r) => r.ms_per_step), pytorch: rounds[method]!.pytorch!.map((r) => r.ms_per_step) },
  };
}

process.stdout.write(
  `${JSON.stringify(
    {
      settings: { arch: values.arch, image_size: Number(values['image-size']), batch_size: Number(values['batch-size']), steps: Number(values.steps), warmup: Number(values.warmup), threads: Number(values.threads), rounds: Number(values.rounds), device: values.device },
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), load_average_at_end: loadavg().map((l) => Math.round(l * 100) / 100) },
      results,
    },
    null,
    2,
  )}\n`,
);
