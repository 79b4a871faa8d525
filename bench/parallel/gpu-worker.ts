// One worker of the GPU check (bench/parallel/gpu-check.sh), started by launchWorkers with one
// worker per GPU: collectives on cuda:LOCAL_RANK tensors over NCCL (or Gloo where the libtorch has
// no NCCL) with hand-worked expected values, then all-reduce bandwidth for a 25 MiB bucket. Rank 0
// writes $RESULT_FILE (JSON).
import { writeFileSync } from 'node:fs';
import { joinRun, workerPlace } from '../../src/parallel/index.js';
import { cuda, tensor, zeros } from '../../src/torch/index.js';

const place = workerPlace();
if (place === null) throw new Error('gpu-worker: start me with launchWorkers (WORLD_SIZE above 1)');
const dp = joinRun(place, { device: 'cuda', timeoutMs: 120_000 });
const { group } = dp;
const device = dp.deviceFor('cuda');
const W = dp.worldSize;
const r = dp.rank;
const checks: Record<string, boolean> = {};

const sum = tensor([r + 1, 2 * (r + 1)]).to(device);
group.allReduce([sum], 'sum');
checks.allReduceSum = JSON.stringify(Array.from(sum.toFloat32Array())) === JSON.stringify([(W * (W + 1)) / 2, W * (W + 1)]);
const b = tensor([r, r]).to(device);
group.broadcast([b], 0);
checks.broadcast = Array.from(b.toFloat32Array()).every((v) => v === 0);
const gathered = group.allGather(tensor([r]).to(device));
checks.allGather = gathered.map((t) => t.toFloat32Array()[0]).join() === Array.from({ length: W }, (_, i) => i).join();
checks.onDevice = sum.device.startsWith('cuda');
group.barrier();

// All-reduce of one 25 MiB float32 bucket (DDP's bucket size), 20 times.
const bucket = zeros([25 * 2 ** 18]).to(device);
group.allReduce([bucket]);
cuda.synchronize();
const started = performance.now();
for (let i = 0; i < 20; i++) group.allReduce([bucket]);
cuda.synchronize();
const ms = (performance.now() - started) / 20;
if (dp.writes) {
  writeFileSync(
    process.env.RESULT_FILE ?? 'gpu-collectives.json',
    JSON.stringify({ worldSize: W, backend: group.backend, checks, allReduce25MiBMs: ms, busBandwidthGBs: ((2 * (W - 1)) / W) * (25 * 2 ** 20) / (ms / 1000) / 1e9 }),
  );
}
dp.close();
