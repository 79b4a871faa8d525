// ResNet embedding models on CUDA against CPU: the same weights give the same eval-mode embeddings,
// and the time of one training step (forward, a distance loss, backward, Adam) on each. JSON out.
import { createModel, type Arch } from '../../src/nn/index.js';
import { Adam } from '../../src/optim/index.js';
import * as T from '../../src/torch/index.js';
import { F, tidy } from '../../src/torch/index.js';

function stepTime(arch: Arch, device: string, size: number, batch: number, steps: number): number {
  T.manualSeed(1);
  const model = createModel({ arch, embedDim: 128 }).to(device);
  model.train();
  const opt = new Adam(model.parameters(), { lr: 1e-5 });
  const x = T.keep(T.randn([batch, 3, size, size]).to(device));
  const step = () =>
    tidy(() => {
      const e = model.forward(x);
      const loss = F.pairwiseDistances(e, e, 1e-12).mean().neg();
      opt.zeroGrad();
      loss.backward();
      opt.step();
    });
  for (let i = 0; i < 3; i++) step();
  if (device !== 'cpu') T.cuda.synchronize();
  const start = process.hrtime.bigint();
  for (let i = 0; i < steps; i++) step();
  if (device !== 'cpu') T.cuda.synchronize();
  return Number(process.hrtime.bigint() - start) / 1e6 / steps;
}

function parity(arch: Arch): number {
  T.manualSeed(2);
  const model = createModel({ arch, embedDim: 128 });
  model.eval();
  const x = T.randn([4, 3, 96, 96]);
  const cpu = tidy(() => model.forward(x).toFloat32Array());
  model.to('cuda');
  const gpu = tidy(() => model.forward(x.to('cuda')).toFloat32Array());
  let max = 0;
  for (let i = 0; i < cpu.length; i++) max = Math.max(max, Math.abs(cpu[i]! - gpu[i]!));
  return max;
}

const report: Record<string, unknown> = { torch: T.torchVersion, cuda: T.cuda.isAvailable() };
if (T.cuda.isAvailable()) {
  report.embed_max_abs_diff_cpu_vs_cuda = { resnet18: parity('resnet18'), resnet50: parity('resnet50') };
  report.ms_per_train_step = {
    'resnet18 64x64 b32 cuda': stepTime('resnet18', 'cuda', 64, 32, 20),
    'resnet50 224x224 b64 cuda': stepTime('resnet50', 'cuda', 224, 64, 10),
    'resnet18 64x64 b32 cpu': stepTime('resnet18', 'cpu', 64, 32, 3),
  };
}
console.log(JSON.stringify(report, null, 1));
