// Comparing runs: loading, alignment of attacks across runs, robustness ratios, table, errors.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { RunSummary } from '../../src/formats/index.js';
import { compareRuns, formatComparison, loadRun } from '../../src/report/compare.js';
import { assertMatchesSchema } from '../helpers/json-schema.js';

const root = mkdtempSync(join(tmpdir(), 'mdprop-compare-'));

function fakeRun(name: string, method: string, r1: number, attacks: [string, number, number][]): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const summary: RunSummary = {
    method, dataset: 'fashion-mnist', epochs: 1, test: { 'recall@1': r1, nmi: 0.5 }, model_selection: 'final', model_epoch: 1, train_seconds: 1, eval_seconds: 1, best_epoch: 1, final_epoch: 1,
    final_test: null, arch: 'resnet-small', embed_dim: 8, loss: 'multisimilarity', batch_size: 8, lr: 0.001, seed: 0, threads: 1, train_images: 8,
    test_images: 8, steps: 1, samples_per_branch: [8], model_file: 'model.safetensors', finished_at: '2026-01-01T00:00:00.000Z',
  };
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary));
  const entries = attacks.map(([attack, eps, rec]) => ({ attack, eps, iters: 10, 'recall@1': rec, 'map@r': rec / 2 }));
  const settings = {
    run: dir, weights: 'model.safetensors', dataset: 'fashion-mnist', data_root: null, arch: 'resnet-small', embed_dim: 8, branch: 0, branches: 1,
    image_size: 28, test_resize: 28, channels: 1, queries: 8, gallery: 8, limit: null, limit_test: null, seed: 0, norm: 'linf', step_size: '2.5*eps/iters',
    random_start: 'eps', mtax_targets: 5, rank_partners: 1, top_fraction: 0.01, ks: [1], device: 'cpu',
  };
  writeFileSync(join(dir, 'eval.json'), JSON.stringify({ clean: { 'recall@1': r1 }, attacks: entries, details: [], ers: [], settings }));
  return dir;
}

describe('compare', () => {
  it('aligns attacks across runs and divides by the reference', () => {
    const base = loadRun(fakeRun('base', 'baseline', 0.8, [['stax', 0.01, 0.2], ['untargeted', 0.01, 0.3]]));
    const md = loadRun(fakeRun('md', 'mdprop', 0.82, [['untargeted', 0.01, 0.45], ['stax', 0.01, 0.5], ['stax', 0.03, 0.1]]));
    const c = compareRuns([base, md]);
    assert.deepEqual(
      c.attacks.map((a) => [a.attack, a.eps, a.recall1, a.ratio.map((r) => (r === null ? null : Number(r.toFixed(6))))]),
      [
        ['stax', 0.01, [0.2, 0.5], [1, 2.5]],
        ['untargeted', 0.01, [0.3, 0.45], [1, 1.5]],
        ['stax', 0.03, [null, 0.1], [null, null]],
      ],
    );
    assertMatchesSchema('comparison', JSON.parse(JSON.stringify(c)));
    const table = formatComparison(c);
    assert.match(table, /clean recall@1\s+80\.00\s+82\.00/);
    assert.match(table, /stax eps=0\.01 iters=10 R@1\s+20\.00\s+50\.00 \(x2\.50\)/);
  });

  it('names the directory that is not a run', () => {
    assert.throws(() => loadRun(join(root, 'nothing')), /nothing: no summary\.json/);
    const dir = join(root, 'broken');
    mkdirSync(dir);
    writeFileSync(join(dir, 'summary.json'), '{"method": "x"}');
    assert.throws(() => loadRun(dir), /summary\.json: "dataset": /);
  });
});
