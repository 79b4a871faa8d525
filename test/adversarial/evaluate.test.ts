// The evaluation loop on the toy network: eps 0 reproduces the clean numbers exactly, runs are
// seeded, the report has the contract's keys, and nothing leaks.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ATTACK_NAMES } from '../../src/adversarial/attacks.js';
import { disposeRange, normalizedPixelRange, parseBudget } from '../../src/adversarial/budget.js';
import { measureRobustness, measureClean, measureCondition, type AttackCondition, type QuerySource, type RobustnessOptions } from '../../src/adversarial/robustness.js';
import { queryIndices } from '../../src/adversarial/query-source.js';
import { GalleryClusters } from '../../src/adversarial/robust-metrics.js';
import { evalFileOf, contractOutput } from '../../src/evaluate/results.js';
import { evalFileSchema, type EvalSettings } from '../../src/formats/index.js';
import * as T from '../../src/torch/index.js';
import { MEAN, STD, toy } from './fixtures.js';

const SETTINGS: EvalSettings = {
  run: null, weights: 'toy', dataset: 'folder', data_root: null, arch: 'toy', embed_dim: 8, branch: 0, branches: 1, image_size: 8,
  test_resize: 8, channels: 1, queries: 30, gallery: 30, limit: null, limit_test: null, seed: 0, norm: 'linf', step_size: '2.5*eps/iters',
  random_start: 'eps', mtax_targets: 3, rank_partners: 1, top_fraction: 0.01, ks: [1, 2, 4], device: 'cpu',
};

const world = toy(30, 9);
const range = normalizedPixelRange(MEAN, STD);
const clusters = new GalleryClusters(world.gallery, 2);
after(() => {
  clusters.dispose();
  disposeRange(range);
  world.dispose();
});

/** Queries: gallery images at `indices`, in batches of 5 (the last one shorter). */
function source(indices: Int32Array): QuerySource {
  const pixels = world.images.toFloat32Array();
  const per = 2 * 4 * 4;
  return {
    size: indices.length,
    labels: Int32Array.from(indices, (i) => world.labels[i]!),
    ids: indices,
    ownRows: indices,
    async *batches() {
      for (let start = 0; start < indices.length; start += 5) {
        const positions = Int32Array.from({ length: Math.min(5, indices.length - start) }, (_, i) => start + i);
        const images = new Float32Array(positions.length * per);
        positions.forEach((p, i) => images.set(pixels.subarray(indices[p]! * per, (indices[p]! + 1) * per), i * per));
        yield { images, shape: [positions.length, 2, 4, 4] as const, positions };
      }
    },
  };
}

function options(indices: Int32Array): RobustnessOptions {
  return {
    embed: world.embed,
    device: 'cpu',
    gallery: world.gallery,
    clusters,
    queries: source(indices),
    pgd: { norm: 'linf', randomStart: 'eps', range, std: STD },
    suite: { mtaxTargets: 3, rankPartners: 1, topFraction: 0.1, seed: 4 },
    ks: [1, 2, 4],
  };
}

const all = Int32Array.from({ length: 12 }, (_, i) => i);

describe('robustness evaluation', () => {
  it('eps 0 runs PGD and reproduces the clean numbers exactly, for every attack', async () => {
    const runs: AttackCondition[] = ATTACK_NAMES.map((attack) => ({ attack, budget: parseBudget('0'), iters: 4 }));
    // Forwards of a PGD iterate (an input that takes gradients) show the attacks really ran.
    let pgdForwards = 0;
    const counted = { ...options(all), embed: (x: T.Tensor) => (x.requiresGrad && pgdForwards++, world.embed(x)) };
    const { clean, conditions: results } = await measureRobustness(runs, counted);
    // 12 queries in 3 batches; every attack iterates 4 times per batch (fgsm once).
    assert.equal(pgdForwards, 3 * ((ATTACK_NAMES.length - 1) * 4 + 1));
    for (const r of results) {
      assert.deepEqual(r.metrics, clean.metrics, r.condition!.attack);
      assert.equal(r.embeddingShift, 0, r.condition!.attack);
      assert.equal(r.maxPerturbation, 0, r.condition!.attack);
    }
  });

  it('a real budget lowers Recall@1 under stax and the same seed gives the same numbers', async () => {
    const run: AttackCondition = { attack: 'stax', budget: parseBudget('64/255'), iters: 10 };
    const clean = await measureClean(options(all));
    const first = await measureCondition(run, options(all));
    const second = await measureCondition(run, options(all));
    assert.ok(first.metrics['recall@1'] < clean.metrics['recall@1'], `recall@1 ${clean.metrics['recall@1']} -> ${first.metrics['recall@1']}`);
    assert.ok(first.successRate! > 0);
    assert.deepEqual(second, first);
  });

  it('the report carries exactly the contract keys; fgsm reports one iteration', async () => {
    const runs: AttackCondition[] = [
      { attack: 'stax', budget: parseBudget('0.1'), iters: 3 },
      { attack: 'fgsm', budget: parseBudget('4/255'), iters: 3 },
      { attack: 'qa-', budget: parseBudget('0.1'), iters: 3 },
      { attack: 'es', budget: parseBudget('0.1'), iters: 3 },
    ];
    const { clean, conditions: results } = await measureRobustness(runs, options(all));
    const report = evalFileOf(clean, results, [1, 2, 4], SETTINGS);
    // What evalFileOf makes is what eval.json's schema accepts.
    assert.equal(evalFileSchema.safeParse(JSON.parse(JSON.stringify(report))).success, true);
    const out = JSON.parse(JSON.stringify(contractOutput(report))) as { clean: object; attacks: object[] };
    // qa- and es are ERS attacks, so the contract carries the score too.
    assert.deepEqual(Object.keys(out), ['clean', 'attacks', 'ers']);
    assert.deepEqual(Object.keys(out.clean), ['recall@1', 'recall@2', 'recall@4', 'map@r', 'map_c', 'nmi']);
    assert.deepEqual(out.attacks.map((a) => Object.keys(a)), [
      ['attack', 'eps', 'iters', 'recall@1', 'map@r', 'success_rate'],
      ['attack', 'eps', 'iters', 'recall@1', 'map@r'],
      ['attack', 'eps', 'iters', 'recall@1', 'map@r'],
      ['attack', 'eps', 'iters', 'recall@1', 'map@r'],
    ]);
    assert.deepEqual(report.attacks.map((a) => [a.attack, a.eps, a.iters]), [
      ['stax', 0.1, 3],
      ['fgsm', 4 / 255, 1],
      ['qa-', 0.1, 3],
      ['es', 0.1, 3],
    ]);
    assert.equal(report.details[2]!.rank !== undefined, true);
    assert.equal(report.ers.length, 1);
    assert.deepEqual(report.ers[0]!.missing, ['CA+', 'CA-', 'QA+', 'TMA', 'LTM', 'GTM', 'GTT']);
    assert.deepEqual(Object.keys(report.ers[0]!.components), ['QA-', 'ES:D', 'ES:R']);
  });

  it('runs sharing PGD passes give each query the result it gets from runs made one at a time', async () => {
    const runs: AttackCondition[] = [
      { attack: 'stax', budget: parseBudget('0.1'), iters: 3 },
      { attack: 'mtax', budget: parseBudget('0.3'), iters: 3 },
      { attack: 'untargeted', budget: parseBudget('0.3'), iters: 3 },
      { attack: 'fgsm', budget: parseBudget('16/255'), iters: 3 },
      { attack: 'qa-', budget: parseBudget('0.1'), iters: 3 },
      { attack: 'stax', budget: parseBudget('0'), iters: 3 },
      { attack: 'stax', budget: parseBudget('0.1'), iters: 3 },
    ];
    const alone = await measureRobustness(runs, { ...options(all), conditionsPerPass: 1 });
    for (const perPass of [2, 7]) {
      const shared = await measureRobustness(runs, { ...options(all), conditionsPerPass: perPass });
      shared.conditions.forEach((r, i) => {
        const want = alone.conditions[i]!;
        const what = `${r.condition!.attack} ${r.condition!.budget.text} (${perPass} per pass)`;
        assert.deepEqual(r.hits, want.hits, what);
        assert.deepEqual(r.metrics, want.metrics, what);
        assert.equal(r.successRate, want.successRate, what);
        assert.equal(r.rank, want.rank, what);
        assert.ok(Math.abs(r.embeddingShift - want.embeddingShift) <= 1e-6, what);
        assert.equal(r.maxPerturbation, want.maxPerturbation, what);
      });
    }
    // The attacks did something (so the equality above is not that of untouched queries), and the repeated run is a copy.
    assert.ok(alone.conditions[2]!.metrics['recall@1'] < alone.clean.metrics['recall@1']);
    assert.deepEqual(alone.conditions[6], alone.conditions[0]);
    assert.deepEqual(alone.conditions[5]!.metrics, alone.clean.metrics);
  });

  it('rejects a conditionsPerPass that is not a positive integer', async () => {
    await assert.rejects(measureRobustness([{ attack: 'stax', budget: parseBudget('0.1'), iters: 1 }], { ...options(all), conditionsPerPass: 0 }), /conditionsPerPass must be a positive integer, got 0/);
  });

  it('leaves no tensors behind', async () => {
    const before = T.liveTensors();
    await measureCondition({ attack: 'ca-', budget: parseBudget('0.1'), iters: 2 }, options(all));
    await measureClean(options(all));
    assert.equal(T.liveTensors(), before);
  });
});

describe('query subsets', () => {
  it('a seeded subset in split order, the same for the same seed', () => {
    const a = queryIndices(100, 10, 3);
    assert.equal(a.length, 10);
    assert.deepEqual(a, queryIndices(100, 10, 3));
    assert.notDeepEqual(a, queryIndices(100, 10, 4));
    assert.deepEqual([...a], [...a].sort((x, y) => x - y));
    assert.equal(new Set(a).size, 10);
    assert.deepEqual(queryIndices(5, 10, 3), Int32Array.from([0, 1, 2, 3, 4]));
    assert.deepEqual(queryIndices(5, undefined, 3), Int32Array.from([0, 1, 2, 3, 4]));
  });
});
