// The bfloat16 targets in one command, on whatever machine runs it: mdprop's bf16 training step
// against PyTorch's (the same step under torch.autocast('cpu', torch.bfloat16), from
// bench/reference/mdprop_step.py), for ResNet-18 at 64x64 batch 32 and ResNet-50 at 224x224 batch
// 16, baseline and MDProp steps, each engine in its faster memory format; and attacked-evaluation
// throughput in bf16 against fp32 (bench/attacked-eval.js). Prints one JSON object.
//
// Each round runs every case, format and engine once, one process each, the two engines back to
// back, so both see the same machine load; figures are medians over the rounds. An engine's
// faster format is the one with the lower median. Beside wall time each engine reports its
// processor time per step (all its threads): on a machine others load, the ratio of those is the
// steadier figure, and with --threads 1 it is the ratio of the work itself. The CPU, its bfloat16
// flags and the load average before and after are printed beside the figures.
//   node dist/bench/bf16-check.js [--cases r18,r50] [--rounds 3] [--steps 3] [--warmup 1] [--threads N]
//     [--formats contiguous,channels-last] [--fp32] [--eval-queries 60] [--eval-rounds 3] [--no-eval]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: 'r18,r50' },
    rounds: { type: 'string', default: '3' },
    steps: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    threads: { type: 'string', default: String(availableParallelism()) },
    formats: { type: 'string', default: 'contiguous,channels-last' },
    fp32: { type: 'boolean', default: false },
    'eval-queries': { type: 'string', default: '60' },
    'eval-rounds': { type: 'string', default: '3' },
    'no-eval': { type: 'boolean', default: false },
    python: { type: 'string', default: process.env.MDPROP_REFERENCE_PYTHON ?? '/usr/bin/python3' },
  },
});

const CASES: Record<string, { arch: string; imageSize: number; batchSize: number }> = {
  r18: { arch: 'resnet18', imageSize: 64, batchSize: 32 },
  r50: { arch: 'resnet50', imageSize: 224, batchSize: 16 },
};
const METHODS = ['baseline', 'mdprop'] as const;
const ENGINES = ['mdprop', 'pytorch'] as const;
type Engine = (typeof ENGINES)[number];
const formats = values.formats!.split(',');
for (const f of formats) if (f !== 'contiguous' && f !== 'channels-last') throw new Error(`--formats: unknown memory format '${f}'`);
const cases = values.cases!.split(',');
for (const c of cases) if (!CASES[c]) throw new Error(`--cases: unknown case '${c}'; expected some of ${Object.keys(CASES).join(', ')}`);

type Report = Record<string, number | string>;

function run(command: string, args: string[]): Report {
  const r = spawnSync(command, args, { cwd: root, encoding: 'utf8', env: { ...process.env, MDPROP_QUIET: '1' }, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Report;
}

/** Wall and processor milliseconds per step. */
function stepMs(engine: Engine, c: { arch: string; imageSize: number; batchSize: number }, method: string, precision: string, format: string): [number, number] {
  const args = [
    '--method', method, '--arch', c.arch, '--image-size', String(c.imageSize), '--batch-size', String(c.batchSize),
    '--steps', values.steps!, '--warmup', values.warmup!, '--threads', values.threads!, '--precision', precision, '--memory-format', format, '--json',
  ];
  const report = engine === 'mdprop' ? run(process.execPath, [join(root, 'dist/src/cli/main.js'), 'bench', ...args]) : run(values.python!, [join(root, 'bench/reference/mdprop_step.py'), ...args]);
  return [Number(report.ms_per_step), Number(report.cpu_ms_per_step)];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const r2 = (x: number) => Math.round(x * 100) / 100;
const r1 = (x: number) => Math.round(x * 10) / 10;

function cpuFlags(): string[] {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    return (line?.split(':')[1]?.trim().split(/\s+/) ?? []).filter((f) => ['amx_bf16', 'avx512_bf16', 'amx_tile', 'avx512f'].includes(f));
  } catch {
    return [];
  }
}

const loadBefore = loadavg().map(r2);
const started = performance.now();
// samples[case method][precision format][engine] = [wall, processor] ms per step, one per round.
type Samples = Record<Engine, [number, number][]>;
const samples = new Map<string, Map<string, Samples>>();
const settingsOf = (precision: string) => (precision === 'fp32' ? ['contiguous'] : formats);
for (let round = 0; round < Number(values.rounds); round++) {
  for (const name of cases) {
    for (const method of METHODS) {
      const key = `${name} ${method}`;
      if (!samples.has(key)) samples.set(key, new Map());
      for (const precision of values.fp32 ? ['bf16', 'fp32'] : ['bf16']) {
        for (const format of settingsOf(precision)) {
          const setting = `${precision} ${format}`;
          const entry: Samples = samples.get(key)!.get(setting) ?? { mdprop: [], pytorch: [] };
          samples.get(key)!.set(setting, entry);
          // Alternate which engine goes first, so neither always follows the other's cache state.
          const order = round % 2 === 0 ? ENGINES : [...ENGINES].reverse();
          for (const engine of order) entry[engine].push(stepMs(engine, CASES[name]!, method, precision, format));
        }
      }
    }
  }
}

const wallOf = (xs: [number, number][]) => median(xs.map((x) => x[0]));
const cpuOf = (xs: [number, number][]) => median(xs.map((x) => x[1]));
const steps: Record<string, object> = {};
for (const [key, bySetting] of samples) {
  // An engine's faster format by wall time, and its figures in that format.
  const best = (engine: Engine) => {
    let choice = { format: '', ms: Infinity, cpuMs: Infinity };
    for (const format of formats) {
      const runs = bySetting.get(`bf16 ${format}`)![engine];
      if (wallOf(runs) < choice.ms) choice = { format, ms: wallOf(runs), cpuMs: cpuOf(runs) };
    }
    return choice;
  };
  const ours = best('mdprop');
  const theirs = best('pytorch');
  const fp32 = bySetting.get('fp32 contiguous');
  steps[key] = {
    bf16_ratio_mdprop_over_pytorch: r2(ours.ms / theirs.ms),
    bf16_cpu_time_ratio_mdprop_over_pytorch: r2(ours.cpuMs / theirs.cpuMs),
    mdprop_bf16: { median_ms_per_step: r1(ours.ms), median_cpu_ms_per_step: r1(ours.cpuMs), memory_format: ours.format },
    pytorch_autocast_bf16: { median_ms_per_step: r1(theirs.ms), median_cpu_ms_per_step: r1(theirs.cpuMs), memory_format: theirs.format },
    ...(fp32
      ? {
          fp32_ratio_mdprop_over_pytorch: r2(wallOf(fp32.mdprop) / wallOf(fp32.pytorch)),
          fp32_contiguous_median_ms: { mdprop: r1(wallOf(fp32.mdprop)), pytorch: r1(wallOf(fp32.pytorch)) },
          bf16_speedup_over_fp32: { mdprop: r2(wallOf(fp32.mdprop) / ours.ms), pytorch: r2(wallOf(fp32.pytorch) / theirs.ms) },
        }
      : {}),
    rounds_ms: Object.fromEntries([...bySetting].map(([setting, e]) => [setting, { mdprop: e.mdprop.map((x) => r1(x[0])), pytorch: e.pytorch.map((x) => r1(x[0])) }])),
    rounds_cpu_ms: Object.fromEntries([...bySetting].map(([setting, e]) => [setting, { mdprop: e.mdprop.map((x) => r1(x[1])), pytorch: e.pytorch.map((x) => r1(x[1])) }])),
  };
}

// Attacked evaluation: the quick preset's model and attacks, fp32 and bf16 alternating in one process.
const attackedEval = values['no-eval']
  ? null
  : run(process.execPath, [join(root, 'dist/bench/attacked-eval.js'), '--precisions', 'fp32,bf16', '--queries', values['eval-queries']!, '--rounds', values['eval-rounds']!, '--threads', values.threads!]);

process.stdout.write(
  `${JSON.stringify(
    {
      settings: { rounds: Number(values.rounds), steps: Number(values.steps), warmup: Number(values.warmup), threads: Number(values.threads), formats, cases },
      machine: {
        cpu: cpus()[0]?.model ?? 'unknown',
        cores: availableParallelism(),
        bf16_flags: cpuFlags(),
        load_average_before: loadBefore,
        load_average_after: loadavg().map(r2),
        minutes: r1((performance.now() - started) / 60000),
      },
      targets: { bf16_step_ratio_at_most: 0.9, attacked_eval_bf16_over_fp32_at_least: 1.8 },
      steps,
      ...(attackedEval ? { attacked_eval: attackedEval } : {}),
    },
    null,
    2,
  )}\n`,
);
