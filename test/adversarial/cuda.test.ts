// The robustness evaluation on CUDA against the same evaluation on the CPU (skipped without CUDA):
// a random resnet-small, 48 synthetic grey images of 4 classes as the gallery, 16 of them as
// queries. Clean embeddings and metrics must agree; attacked numbers within a tolerance (sign
// steps of near-zero gradients may differ between devices). Prints the seconds of each device.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CleanGallery } from '../../src/adversarial/gallery.js';
import { disposeRange, normalizedPixelRange, parseBudget } from '../../src/adversarial/budget.js';
import { measureRobustness, type AttackCondition, type QuerySource, type ConditionResult } from '../../src/adversarial/robustness.js';
import { GalleryClusters } from '../../src/adversarial/robust-metrics.js';
import { createModel } from '../../src/nn/index.js';
import * as T from '../../src/torch/index.js';
import { noGrad, tidy } from '../../src/torch/index.js';

const hasCuda = T.cuda.isAvailable();
const N = 48;
const QUERIES = 16;
const SIDE = 28;

async function evaluateOn(device: string, pixels: Float32Array, labels: Int32Array): Promise<{ clean: ConditionResult; conditions: ConditionResult[]; seconds: number; embeddings: number[] }> {
  T.manualSeed(0);
  const model = createModel({ arch: 'resnet-small', embedDim: 16, inChannels: 1 });
  model.eval().to(device);
  const embed = (x: T.Tensor) => model.forward(x);
  const images = T.tensor(pixels, [N, 1, SIDE, SIDE]);
  const rows = tidy(() => noGrad(() => embed(images.to(device)).to('cpu')));
  const gallery = tidy(() => new CleanGallery(rows.to(device), labels));
  const clusters = new GalleryClusters(gallery, 2);
  const range = normalizedPixelRange([0.449], [0.226], device === 'cpu' ? undefined : device);
  const ids = Int32Array.from({ length: QUERIES }, (_, i) => i);
  const queries: QuerySource = {
    size: QUERIES,
    labels: labels.subarray(0, QUERIES),
    ids,
    ownRows: ids,
    async *batches() {
      for (let start = 0; start < QUERIES; start += 8) {
        const positions = Int32Array.from({ length: 8 }, (_, i) => start + i);
        yield { images: pixels.subarray(start * SIDE * SIDE, (start + 8) * SIDE * SIDE), shape: [8, 1, SIDE, SIDE] as const, positions };
      }
    },
  };
  const runs: AttackCondition[] = (['stax', 'untargeted', 'ca+', 'qa-'] as const).map((attack) => ({ attack, budget: parseBudget('8/255'), iters: 5 }));
  const start = Date.now();
  const result = await measureRobustness(runs, {
    embed,
    device,
    gallery,
    clusters,
    queries,
    pgd: { norm: 'linf', randomStart: 0, range, std: [0.226] },
    suite: { mtaxTargets: 5, rankPartners: 1, topFraction: 0.05, seed: 1 },
    ks: [1, 2, 4],
  });
  if (device !== 'cpu') T.cuda.synchronize();
  const seconds = (Date.now() - start) / 1000;
  const embeddings = rows.toNumbers();
  T.dispose([images, rows]);
  disposeRange(range);
  clusters.dispose();
  gallery.dispose();
  model.dispose();
  return { ...result, seconds, embeddings };
}

describe('robustness evaluation on CUDA', { skip: hasCuda ? false : 'no CUDA in this libtorch' }, () => {
  it('agrees with the CPU', async () => {
    T.manualSeed(5);
    const pixels = T.rand([N, 1, SIDE, SIDE]).sub(0.449).div(0.226).toFloat32Array();
    const labels = Int32Array.from({ length: N }, (_, i) => i % 4);
    const cpu = await evaluateOn('cpu', pixels, labels);
    const gpu = await evaluateOn('cuda', pixels, labels);
    const worst = Math.max(...cpu.embeddings.map((v, i) => Math.abs(v - gpu.embeddings[i]!)));
    process.stdout.write(`${JSON.stringify({ cpu_seconds: cpu.seconds, cuda_seconds: gpu.seconds, max_embedding_difference: worst, cpu: summary(cpu), cuda: summary(gpu) })}\n`);
    assert.ok(worst < 1e-3, `clean embeddings differ by ${worst}`);
    assert.equal(gpu.clean.metrics['recall@1'], cpu.clean.metrics['recall@1']);
    assert.ok(Math.abs(gpu.clean.metrics['map@r'] - cpu.clean.metrics['map@r']) < 1e-4);
    cpu.conditions.forEach((r, i) => {
      const g = gpu.conditions[i]!;
      assert.ok(Math.abs(g.metrics['recall@1'] - r.metrics['recall@1']) <= 0.25, `${r.condition!.attack}: recall@1 cpu ${r.metrics['recall@1']} cuda ${g.metrics['recall@1']}`);
      assert.ok(Math.abs(g.embeddingShift - r.embeddingShift) < 0.1 * Math.max(r.embeddingShift, 1e-3) + 1e-3, `${r.condition!.attack}: shift cpu ${r.embeddingShift} cuda ${g.embeddingShift}`);
    });
  });
});

function summary(r: { clean: ConditionResult; conditions: ConditionResult[] }): Record<string, number> {
  const out: Record<string, number> = { clean: r.clean.metrics['recall@1'] };
  for (const run of r.conditions) out[run.condition!.attack] = run.metrics['recall@1'];
  return out;
}
