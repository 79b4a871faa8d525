// A CUDA check for a libtorch built with CUDA: the same ops and gradients on 'cuda' as on 'cpu',
// and the time of a small conv-net training step on each. Prints JSON. Needs a GPU machine.
import * as T from '../../src/torch/index.js';
import { F, tidy } from '../../src/torch/index.js';

interface Params {
  w1: T.Tensor;
  w2: T.Tensor;
  gamma: T.Tensor;
  beta: T.Tensor;
  head: T.Tensor;
}

function makeParams(device: string): Params {
  T.manualSeed(7);
  const mk = (shape: number[], scale: number) => T.randn(shape).mul(scale).to(device).setRequiresGrad();
  return { w1: mk([32, 3, 3, 3], 0.2), w2: mk([64, 32, 3, 3], 0.05), gamma: mk([32], 0.1).detach().add(1).setRequiresGrad(), beta: mk([32], 0.1), head: mk([16, 64], 0.1) };
}

function loss(p: Params, x: T.Tensor, meanBuf: T.Tensor, varBuf: T.Tensor): T.Tensor {
  let h = F.conv2d(x, p.w1, null, { padding: 1 });
  h = F.batchNorm(h, meanBuf, varBuf, p.gamma, p.beta, { training: true }).relu();
  h = F.maxPool2d(h, 2);
  h = F.conv2d(h, p.w2, null, { padding: 1 }).relu();
  const e = F.l2Normalize(F.linear(F.adaptiveAvgPool2d(h, 1).flatten(1), p.head), 1);
  return F.pairwiseDistances(e, e, 1e-12).mean();
}

function step(p: Params, x: T.Tensor, meanBuf: T.Tensor, varBuf: T.Tensor): number {
  return tidy(() => {
    const l = loss(p, x, meanBuf, varBuf);
    const grads = T.grad(l, [p.w1, p.w2, p.gamma, p.beta, p.head]);
    T.noGrad(() => [p.w1, p.w2, p.gamma, p.beta, p.head].forEach((w, i) => w.sub_(grads[i]!, 0.01)));
    return l.item();
  });
}

function run(device: string, batch: number, steps: number) {
  const p = makeParams(device);
  T.manualSeed(11);
  const x = T.randn([batch, 3, 32, 32]).to(device);
  const meanBuf = T.zeros([32]).to(device);
  const varBuf = T.ones([32]).to(device);
  const first = step(p, x, meanBuf, varBuf);
  for (let i = 0; i < 3; i++) step(p, x, meanBuf, varBuf);
  if (device !== 'cpu') T.cuda.synchronize();
  const start = process.hrtime.bigint();
  let last = 0;
  for (let i = 0; i < steps; i++) last = step(p, x, meanBuf, varBuf);
  if (device !== 'cpu') T.cuda.synchronize();
  const ms = Number(process.hrtime.bigint() - start) / 1e6 / steps;
  return { device, first_loss: first, last_loss: last, ms_per_step: ms, w1: p.w1.toFloat32Array() };
}

const batch = Number(process.argv[2] ?? 64);
const steps = Number(process.argv[3] ?? 20);
const report: Record<string, unknown> = { torch: T.torchVersion, cuda_available: T.cuda.isAvailable(), cuda_devices: T.cuda.deviceCount() };
const cpu = run('cpu', batch, steps);
report.cpu = { first_loss: cpu.first_loss, last_loss: cpu.last_loss, ms_per_step: cpu.ms_per_step };
if (T.cuda.isAvailable()) {
  const gpu = run('cuda', batch, steps);
  let maxDiff = 0;
  for (let i = 0; i < cpu.w1.length; i++) maxDiff = Math.max(maxDiff, Math.abs(cpu.w1[i]! - gpu.w1[i]!));
  report.cuda = { first_loss: gpu.first_loss, last_loss: gpu.last_loss, ms_per_step: gpu.ms_per_step };
  report.first_loss_abs_diff = Math.abs(cpu.first_loss - gpu.first_loss);
  report.weights_max_abs_diff_after_training = maxDiff;
  // Errors on the device path are JS Errors too.
  try {
    T.ones([2, 3]).to('cuda').mm(T.ones([2, 3]).to('cuda'));
  } catch (err) {
    report.cuda_error_message = (err as Error).message.split('\n')[0];
  }
}
console.log(JSON.stringify(report, null, 1));
