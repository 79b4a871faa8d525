// Attacked-evaluation throughput on the main job's settings (mdprop experiment --preset quick:
// Fashion-MNIST, resnet-small at 28x28, 2,000 test images, stax/mtax/untargeted at eps 0.03, 0.1,
// 0.3, 10 iterations), one run per PGD pass (the CPU default) vs. all 9 runs sharing each pass,
// alternating in one process. With --precisions fp32,bf16 it compares precisions instead (one run
// per pass, each precision in its default memory format), also alternating.
// The model has random weights: the work per query does not depend on them. Prints JSON.
//   node dist/bench/attacked-eval.js [--queries 60] [--rounds 2] [--threads 2] [--precisions fp32,bf16]
import { parseArgs } from 'node:util';
import { evaluate } from '../src/evaluate/index.js';
import { PRESETS } from '../src/experiment/presets.js';
import { createModel, defaultMemoryFormat, isPrecision, type Precision } from '../src/nn/index.js';
import { manualSeed, setNumThreads } from '../src/torch/index.js';

const { values } = parseArgs({
  options: {
    queries: { type: 'string', default: '60' },
    rounds: { type: 'string', default: '2' },
    threads: { type: 'string', default: '2' },
    precisions: { type: 'string' },
  },
});
const quick = PRESETS.quick;
const threads = Number(values.threads);
setNumThreads(threads);
manualSeed(0);
const model = createModel({ arch: 'resnet-small', embedDim: 128, inChannels: 1 });
model.eval();
const loaded = { model, path: 'random weights', arch: 'resnet-small' as const, embedDim: 128, inChannels: 1, branches: 1, branch: 0, metadata: null };
const runs = quick.attacks.length * quick.eps.length;

/** The last measure's attacked queries per second of this process's processor time. */
let lastCpuRate = 0;

/** Attacked queries per second: queries x runs over the time after the clean queries are done. */
async function measure(conditionsPerPass: number | undefined, precision: Precision = 'fp32'): Promise<number> {
  let cleanDone = 0;
  let cpuAtCleanDone = process.cpuUsage();
  await evaluate(loaded, {
    precision,
    memoryFormat: defaultMemoryFormat(precision),
    dataset: 'fashion-mnist',
    limitTest: quick.train.limitTest,
    limit: Number(values.queries),
    attacks: [...quick.attacks],
    eps: [...quick.eps],
    iters: quick.iters,
    threads,
    out: null,
    ...(conditionsPerPass === undefined ? {} : { conditionsPerPass }),
    onProgress: (p) => {
      if (p.stage === 'queries' && p.conditionIndex === 0 && p.done === p.total) {
        cleanDone = performance.now();
        cpuAtCleanDone = process.cpuUsage();
      }
    },
  });
  const cpu = process.cpuUsage(cpuAtCleanDone);
  lastCpuRate = (Number(values.queries) * runs * 1e6) / (cpu.user + cpu.system);
  return (Number(values.queries) * runs * 1000) / (performance.now() - cleanDone);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const r2 = (x: number) => Math.round(x * 100) / 100;
if (values.precisions !== undefined) {
  const precisions = values.precisions.split(',');
  const bad = precisions.find((p) => !isPrecision(p));
  if (bad !== undefined || precisions.length < 2) throw new Error(`--precisions: expected two or more of fp32, bf16, fp16, got '${values.precisions}'`);
  const perPrecision = new Map<string, number[]>(precisions.map((p) => [p, []]));
  const perCpu = new Map<string, number[]>(precisions.map((p) => [p, []]));
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const p of precisions) {
      perPrecision.get(p)!.push(await measure(1, p as Precision));
      perCpu.get(p)!.push(lastCpuRate);
    }
  }
  const qps = Object.fromEntries([...perPrecision].map(([p, xs]) => [p, r2(median(xs))]));
  const cpuQps = Object.fromEntries([...perCpu].map(([p, xs]) => [p, r2(median(xs))]));
  const [first, ...rest] = precisions as [string, ...string[]];
  process.stdout.write(
    `${JSON.stringify({
      settings: { preset: 'quick', queries: Number(values.queries), runs, iters: quick.iters, threads, rounds: Number(values.rounds), memory_formats: Object.fromEntries(precisions.map((p) => [p, defaultMemoryFormat(p as Precision)])) },
      attacked_queries_per_s: qps,
      ratio_over_first: Object.fromEntries(rest.map((p) => [p, r2(qps[p]! / qps[first]!)])),
      attacked_queries_per_cpu_s: cpuQps,
      cpu_ratio_over_first: Object.fromEntries(rest.map((p) => [p, r2(cpuQps[p]! / cpuQps[first]!)])),
      samples: Object.fromEntries([...perPrecision].map(([p, xs]) => [p, xs.map(r2)])),
    })}\n`,
  );
  process.exit(0);
}
const samples: { one_at_a_time: number[]; shared: number[] } = { one_at_a_time: [], shared: [] };
for (let round = 0; round < Number(values.rounds); round++) {
  samples.one_at_a_time.push(await measure(1));
  samples.shared.push(await measure(runs));
}
process.stdout.write(
  `${JSON.stringify({
    settings: { preset: 'quick', queries: Number(values.queries), runs, iters: quick.iters, threads, rounds: Number(values.rounds) },
    attacked_queries_per_s: { one_at_a_time: r2(median(samples.one_at_a_time)), shared: r2(median(samples.shared)) },
    speedup: r2(median(samples.shared) / median(samples.one_at_a_time)),
    samples: { one_at_a_time: samples.one_at_a_time.map(r2), shared: samples.shared.map(r2) },
  })}\n`,
);
