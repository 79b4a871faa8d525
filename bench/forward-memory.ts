// The forward-pass memory estimate (src/nn/memory-estimate.ts) against the measured peak: each
// configuration runs in a fresh child process, which builds the model and the batch and runs one
// pass (inference without gradients; an attack's input gradient; a training step's forward and
// backward with parameter gradients). Measured: the growth of the peak resident set (VmHWM) from
// before the model was built. Prints one JSON object.
//   node dist/bench/forward-memory.js
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createModel, forwardPeakBytes, type Arch, type PassKind } from '../src/nn/index.js';
import { enableGrad, noGrad, randn, tidy } from '../src/torch/index.js';

interface Config {
  arch: Arch;
  imageSize: number;
  batch: number;
  kind: PassKind;
  inChannels: number;
}

const CONFIGS: Config[] = [
  { arch: 'resnet18', imageSize: 224, batch: 8, kind: 'inference', inChannels: 3 },
  { arch: 'resnet50', imageSize: 224, batch: 8, kind: 'inference', inChannels: 3 },
  { arch: 'resnet18', imageSize: 448, batch: 2, kind: 'inference', inChannels: 3 },
  { arch: 'resnet18', imageSize: 224, batch: 8, kind: 'input-gradient', inChannels: 3 },
  { arch: 'resnet50', imageSize: 224, batch: 4, kind: 'training', inChannels: 3 },
  { arch: 'resnet-small', imageSize: 32, batch: 128, kind: 'training', inChannels: 3 },
  { arch: 'c2f2', imageSize: 28, batch: 512, kind: 'input-gradient', inChannels: 1 },
];

const hwmMiB = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;

function measure(c: Config): number {
  const before = hwmMiB();
  const model = createModel({ arch: c.arch, embedDim: 128, inChannels: c.inChannels });
  const x = randn([c.batch, c.inChannels, c.imageSize, c.imageSize]);
  if (c.kind === 'inference') {
    model.eval();
    noGrad(() => tidy(() => void model.forward(x)));
  } else {
    if (c.kind === 'input-gradient') {
      model.eval();
      for (const p of model.parameters()) p.setRequiresGrad(false);
      x.setRequiresGrad(true);
    } else model.train();
    enableGrad(() => tidy(() => model.forward(x).sum().backward()));
  }
  return hwmMiB() - before;
}

if (process.argv[2] === '--child') {
  const c = JSON.parse(process.argv[3]!) as Config;
  process.stdout.write(JSON.stringify({ measured_mib: Math.round(measure(c)) }));
} else {
  const rows = CONFIGS.map((c) => {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', JSON.stringify(c)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    const measured = (JSON.parse(r.stdout) as { measured_mib: number }).measured_mib;
    const estimated = Math.round(forwardPeakBytes({ ...c, embedDim: 128 }) / 2 ** 20);
    return { ...c, estimated_mib: estimated, measured_mib: measured, ratio: Math.round((estimated / measured) * 100) / 100 };
  });
  const note = 'training is measured as one forward and backward with parameter gradients; the estimate also counts the two moments an Adam step keeps';
  console.log(JSON.stringify({ what: 'forward-pass peak memory: estimate vs measured VmHWM growth', note, rows }, null, 1));
}
