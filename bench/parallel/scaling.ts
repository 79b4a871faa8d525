// Data-parallel scaling on this machine: MDProp steps of resnet-small (28x28, per-worker batch
// BATCH, 1 thread per worker) with 1 worker and with 2 (Gloo over loopback), each worker on its
// own batch, so 2 workers train a global batch twice as large. 2 workers run twice: gradients
// reduced during the backward pass (c10d's Reducer, the default) and after it (bucketed, which
// times the all-reduce), then a third time during it with synchronised batch norm (--sync-bn). Prints JSON: images per second, the scaling efficiency (images/s with 2
// / (2 x images/s with 1)) and the all-reduce time per step. Fixed random batches: data loading
// is not measured.
// Usage: node dist/bench/parallel/scaling.js [steps=10] [per-worker batch=32]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchWorkers } from '../../src/parallel/index.js';

const [steps = 10, batch = 32] = process.argv.slice(2).map(Number).filter((n) => n > 0);
const worker = fileURLToPath(new URL('./scaling-worker.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'mdprop-scaling-'));
interface Timing {
  worldSize: number;
  imagesPerSecond: number;
  allReduceMsPerStep: number;
  pureAllReduceMs: number;
  gradientBytes: number;
  seconds: number;
}

const { WORLD_SIZE: _w, RANK: _r, ...env } = process.env;
const loadBefore = loadavg()[0]!;
const single = spawnSync(process.execPath, [worker], { env: { ...env, RESULT_FILE: join(dir, '1.json'), STEPS: String(steps), BATCH: String(batch) }, stdio: 'inherit' });
if (single.status !== 0) throw new Error(`the single worker failed (${single.status})`);
/** 2 workers; overlap: gradients reduced during the backward pass (c10d's Reducer) or after it (timed). */
async function pair(overlap: boolean, syncBn = false): Promise<Timing> {
  const file = join(dir, `2-${overlap}-${syncBn}.json`);
  Object.assign(process.env, { RESULT_FILE: file, STEPS: String(steps), BATCH: String(batch), OVERLAP: overlap ? '1' : '0', SYNC_BN: syncBn ? '1' : '0' });
  const launched = await launchWorkers({ nproc: 2, command: [worker], graceMs: 60_000 });
  if (launched.exitCode !== 0) throw new Error(`the 2 workers failed (${launched.exitCode})`);
  return JSON.parse(readFileSync(file, 'utf8')) as Timing;
}
const one = JSON.parse(readFileSync(join(dir, '1.json'), 'utf8')) as Timing;
const overlapped = await pair(true);
const after = await pair(false);
const synced = await pair(true, true);
console.log(
  JSON.stringify(
    {
      bench: 'data-parallel scaling (mdprop step, resnet-small 28x28, 1 thread per worker, gloo over loopback)',
      steps,
      perWorkerBatch: batch,
      cores: cpus().length,
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadavg()[0]!,
      imagesPerSecond: {
        '1': round(one.imagesPerSecond),
        '2 overlapped': round(overlapped.imagesPerSecond),
        '2 after backward': round(after.imagesPerSecond),
        '2 overlapped, sync-bn': round(synced.imagesPerSecond),
      },
      scalingEfficiency: {
        overlapped: round(overlapped.imagesPerSecond / (2 * one.imagesPerSecond)),
        afterBackward: round(after.imagesPerSecond / (2 * one.imagesPerSecond)),
        overlappedSyncBn: round(synced.imagesPerSecond / (2 * one.imagesPerSecond)),
      },
      allReduceMsPerStepAfterBackward: round(after.allReduceMsPerStep),
      allReduceMsOfAllGradientsAfterBarrier: round(after.pureAllReduceMs),
      gradientBytes: after.gradientBytes,
      stepMs: {
        '1': round((one.seconds / steps) * 1000),
        '2 overlapped': round((overlapped.seconds / steps) * 1000),
        '2 after backward': round((after.seconds / steps) * 1000),
        '2 overlapped, sync-bn': round((synced.seconds / steps) * 1000),
      },
    },
    null,
    2,
  ),
);

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
