// Reading a torchvision ResNet-50 checkpoint (.pth, 25.6 M parameters, about 100 MB) without
// Python, against torch.load in python3-torch on the same file; prints one JSON object.
//   node dist/bench/pth-read.js [--repeats N]
// The checkpoint is written first by python3-torch (random weights, torchvision's names).
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dispose, readPytorchCheckpoint } from '../src/torch/index.js';

const python = process.env.MDPROP_REFERENCE_PYTHON ?? '/usr/bin/python3';
const at = process.argv.indexOf('--repeats');
const repeats = at >= 0 ? Number(process.argv[at + 1]) : 3;
const file = join(mkdtempSync(join(tmpdir(), 'mdprop-pth-bench-')), 'resnet50.pth');

const script = `
import sys, time, torch, torchvision
torch.save(torchvision.models.resnet50(weights=None).state_dict(), sys.argv[1])
times = []
for _ in range(int(sys.argv[2])):
    t = time.perf_counter(); torch.load(sys.argv[1]); times.append(time.perf_counter() - t)
print(min(times) * 1000)
`;
const py = spawnSync(python, ['-c', script, file, String(repeats)], { encoding: 'utf8' });
if (py.status !== 0) throw new Error(`${python}: ${py.stderr}`);

const times: number[] = [];
let tensors = 0;
for (let i = 0; i < repeats; i++) {
  const start = performance.now();
  const checkpoint = readPytorchCheckpoint(file);
  times.push(performance.now() - start);
  tensors = checkpoint.tensors.size;
  dispose(checkpoint.tensors);
}
const round = (ms: number) => Math.round(ms * 10) / 10;
console.log(JSON.stringify({ file: 'resnet50 state dict', tensors, repeats, mdprop_best_ms: round(Math.min(...times)), torch_load_best_ms: round(Number(py.stdout.trim())) }));
