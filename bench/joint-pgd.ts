// Joint PGD passes vs one pass per condition on the quick preset's network (resnet-small, 28x28,
// 1 channel, eval mode, weights frozen): 9 untargeted conditions (3 budgets x 3 repeats) of one
// query batch, attacked k at a time, rounds alternating in one process. Prints JSON (median ms
// per batch of 9 conditions, per k).
//   node dist/bench/joint-pgd.js [--batch 64] [--rounds 3] [--threads 1] [--ks 1,3,9]
import { parseArgs } from 'node:util';
import { featurePgdJoint, type PgdCondition } from '../src/adversarial/index.js';
import { createModel, freezeParameters } from '../src/nn/index.js';
import { manualSeed, noGrad, randn, setNumThreads, tidy, type Tensor } from '../src/torch/index.js';

const { values } = parseArgs({
  options: { batch: { type: 'string', default: '64' }, rounds: { type: 'string', default: '3' }, threads: { type: 'string', default: '1' }, ks: { type: 'string', default: '1,3,9' } },
});
setNumThreads(Number(values.threads));
manualSeed(0);
const model = createModel({ arch: 'resnet-small', embedDim: 128, inChannels: 1 });
model.eval();
freezeParameters(model);
const embed = (x: Tensor) => model.forward(x);
const images = randn([Number(values.batch), 1, 28, 28]);
const clean = noGrad(() => embed(images));
const conditions: PgdCondition[] = [0.03, 0.1, 0.3].flatMap((eps) =>
  [0, 1, 2].map(() => ({ images, goal: { kind: 'untargeted' as const, clean }, options: { eps, iters: 10, stepSize: (2.5 * eps) / 10, randomStart: eps, range: { kind: 'fixed' as const, min: -3, max: 3 } } })),
);
const ks = values.ks!.split(',').map(Number);
const samples = new Map<number, number[]>(ks.map((k) => [k, []]));
for (let round = 0; round <= Number(values.rounds); round++) {
  for (const k of ks) {
    const t0 = performance.now();
    for (let start = 0; start < conditions.length; start += k) tidy(() => void featurePgdJoint(embed, conditions.slice(start, start + k)));
    if (round > 0) samples.get(k)!.push(performance.now() - t0);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
process.stdout.write(
  `${JSON.stringify({
    settings: { batch: Number(values.batch), conditions: conditions.length, iters: 10, threads: Number(values.threads), rounds: Number(values.rounds) },
    median_ms_per_batch: Object.fromEntries(ks.map((k) => [`${k}_per_pass`, Math.round(median(samples.get(k)!))])),
    samples_ms: Object.fromEntries(ks.map((k) => [`${k}_per_pass`, samples.get(k)!.map(Math.round)])),
  })}\n`,
);
