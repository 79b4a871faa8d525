// Two builds of mdprop on the same `mdprop bench` work, alternating one process each round (so both
// see the same machine load): this checkout against another (e.g. a build of an earlier commit,
// with its own dist/ and build/). Reports each build's median ms per step and the median processor
// time of its whole process (model building and warm-up included, the same for both), which a
// loaded machine disturbs far less than wall time. Prints JSON.
//   node dist/bench/ab-builds.js --other DIR [--cases r18,r50] [--methods baseline,mdprop] [--rounds 5]
//     [--steps 3] [--warmup 1] [--threads 1] [--precision fp32] [--memory-format contiguous]
import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({
  options: {
    other: { type: 'string' },
    cases: { type: 'string', default: 'r18,r50' },
    methods: { type: 'string', default: 'baseline,mdprop' },
    rounds: { type: 'string', default: '5' },
    steps: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    threads: { type: 'string', default: '1' },
    precision: { type: 'string', default: 'fp32' },
    'memory-format': { type: 'string', default: 'contiguous' },
  },
});
if (values.other === undefined) throw new Error('--other: give the root of the other build (a checkout with dist/ and build/)');
const builds = { this: root, other: resolve(values.other) };
const CASES: Record<string, string[]> = {
  r18: ['--arch', 'resnet18', '--image-size', '64', '--batch-size', '32'],
  r50: ['--arch', 'resnet50', '--image-size', '224', '--batch-size', '16'],
};

/** ms per step from the bench's JSON, and the process's user + system seconds from /usr/bin/time. */
function run(dir: string, args: string[]): [number, number] {
  const r = spawnSync('/usr/bin/time', ['-f', 'cpu %U %S', process.execPath, join(dir, 'dist/src/cli/main.js'), 'bench', ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, MDPROP_QUIET: '1' } });
  if (r.status !== 0) throw new Error(`bench in ${dir} failed (${r.status}): ${r.stderr}`);
  const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ms_per_step: number };
  const [, user, system] = /cpu ([\d.]+) ([\d.]+)/.exec(r.stderr)!.map(Number) as [number, number, number];
  return [report.ms_per_step, user + system];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const r2 = (x: number) => Math.round(x * 100) / 100;
const loadBefore = loadavg().map(r2);
const results: Record<string, object> = {};
for (const name of values.cases!.split(',')) {
  const shape = CASES[name];
  if (!shape) throw new Error(`--cases: unknown case '${name}'; expected some of ${Object.keys(CASES).join(', ')}`);
  for (const method of values.methods!.split(',')) {
    const args = [
      '--method', method, ...shape, '--steps', values.steps!, '--warmup', values.warmup!, '--threads', values.threads!,
      '--precision', values.precision!, '--memory-format', values['memory-format']!, '--json',
    ];
    const samples = { this: [] as [number, number][], other: [] as [number, number][] };
    for (let round = 0; round < Number(values.rounds); round++) {
      const order = round % 2 === 0 ? (['this', 'other'] as const) : (['other', 'this'] as const);
      for (const b of order) samples[b].push(run(builds[b], args));
    }
    const ms = (b: 'this' | 'other') => median(samples[b].map((s) => s[0]));
    const cpu = (b: 'this' | 'other') => median(samples[b].map((s) => s[1]));
    results[`${name} ${method}`] = {
      median_ms_per_step: { this: ms('this'), other: ms('other') },
      median_process_cpu_s: { this: r2(cpu('this')), other: r2(cpu('other')) },
      ratio_this_over_other: { wall: r2(ms('this') / ms('other')), process_cpu: r2(cpu('this') / cpu('other')) },
      rounds: samples,
    };
  }
}
process.stdout.write(
  `${JSON.stringify(
    {
      settings: { other: builds.other, rounds: Number(values.rounds), steps: Number(values.steps), warmup: Number(values.warmup), threads: Number(values.threads), precision: values.precision, memory_format: values['memory-format'] },
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), load_average_before: loadBefore, load_average_after: loadavg().map(r2) },
      results,
    },
    null,
    2,
  )}\n`,
);
