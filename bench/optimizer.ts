// The optimizer step alone over ResNet-18's parameters (embedding head of 128), per parameter vs
// multi-tensor (foreach), on the CPU: median milliseconds per step and op calls per step. The
// gradients are set once; only opt.step() is timed. Prints JSON.
// Usage: node dist/bench/optimizer.js [repetitions=7] [steps per repetition=10]
import { createModel } from '../src/nn/index.js';
import { Adam, AdamW, SGD, type AnyOptimizer, type OptimizerSettings } from '../src/optim/index.js';
import * as T from '../src/torch/index.js';

const [reps = 7, stepsPerRep = 10] = process.argv.slice(2).map(Number).filter((n) => n > 0);

type Build = (params: T.Tensor[], settings: OptimizerSettings) => AnyOptimizer;
const builds: Record<string, Build> = {
  adam: (p, s) => new Adam(p, { lr: 1e-5, weightDecay: 4e-4, ...s }),
  adamw: (p, s) => new AdamW(p, { lr: 1e-5, weightDecay: 4e-4, ...s }),
  sgd: (p, s) => new SGD(p, { lr: 1e-3, momentum: 0.9, weightDecay: 4e-4, ...s }),
};

const model = createModel({ arch: 'resnet18', embedDim: 128 });
const params = model.parameters();
T.manualSeed(0);
T.tidy(() => params.forEach((p) => (p.grad = T.randn(p.shape).mul(1e-3))));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface Mode {
  opt: AnyOptimizer;
  times: number[];
  opCalls: number;
}

const results = Object.entries(builds).map(([name, build]) => {
  const modes: Record<'perParam' | 'foreach', Mode> = {
    perParam: { opt: build(params, { foreach: false }), times: [], opCalls: 0 },
    foreach: { opt: build(params, { foreach: true }), times: [], opCalls: 0 },
  };
  for (const mode of Object.values(modes)) {
    mode.opt.step(); // makes the state; later steps are the steady ones
    const before = T.opCallCount();
    mode.opt.step();
    mode.opCalls = T.opCallCount() - before;
  }
  // Alternate the two modes so that drift in the machine's speed affects both alike.
  for (let r = 0; r < reps; r++) {
    for (const mode of Object.values(modes)) {
      const start = process.hrtime.bigint();
      for (let s = 0; s < stepsPerRep; s++) mode.opt.step();
      mode.times.push(Number(process.hrtime.bigint() - start) / 1e6 / stepsPerRep);
    }
  }
  const summary = Object.fromEntries(
    Object.entries(modes).map(([key, m]) => {
      m.opt.dispose();
      return [key, { msPerStep: Number(median(m.times).toFixed(3)), opCallsPerStep: m.opCalls }];
    }),
  );
  const speedup = summary.perParam!.msPerStep / summary.foreach!.msPerStep;
  return { optimizer: name, ...summary, speedup: Number(speedup.toFixed(2)) };
});

console.log(
  JSON.stringify(
    {
      torch: T.torchVersion,
      device: 'cpu',
      threads: T.getNumThreads(),
      model: 'resnet18, embedDim 128',
      paramTensors: params.length,
      paramElements: params.reduce((n, p) => n + p.numel, 0),
      repetitions: reps,
      stepsPerRepetition: stepsPerRep,
      results,
    },
    null,
    1,
  ),
);
