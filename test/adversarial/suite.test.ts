// The test-time attack suite on a toy network: every attack improves its own objective, stays in
// its budget and in the valid input box, and a zero budget changes nothing.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ATTACK_NAMES, isRankingAttack, prepareAttack, type AttackName, type SuiteOptions } from '../../src/adversarial/attacks.js';
import { disposeRange, normalizedPixelRange, parseBudget } from '../../src/adversarial/budget.js';
import { pgdOptionsFor, type PgdSettings } from '../../src/adversarial/robustness.js';
import { attackObjective, featurePgd, type AttackGoal } from '../../src/adversarial/pgd.js';
import * as T from '../../src/torch/index.js';
import { noGrad, tidy, type Tensor } from '../../src/torch/index.js';
import { maxAbs, MEAN, STD, toy } from './fixtures.js';

const world = toy();
const range = normalizedPixelRange(MEAN, STD);
after(() => {
  disposeRange(range);
  world.dispose();
});

const suite: SuiteOptions = { mtaxTargets: 3, rankPartners: 2, topFraction: 0.2, seed: 7 };
const settings: PgdSettings = { norm: 'linf', randomStart: 'eps', range, std: STD };
const QUERIES = 8;

/** The first QUERIES gallery images as a batch (their own copies are gallery rows 0..7). */
function batch(): { images: Tensor; clean: Tensor; labels: Int32Array; ids: Int32Array; ownRows: Int32Array } {
  const images = world.images.narrow(0, 0, QUERIES);
  const ids = Int32Array.from({ length: QUERIES }, (_, i) => i);
  return { images, clean: noGrad(() => world.embed(images)), labels: world.labels.subarray(0, QUERIES), ids, ownRows: ids };
}

/** The objective the attack optimises, signed so that lower is better for the attacker. */
function attackerLoss(name: AttackName, goal: AttackGoal, clean: Tensor, embeddings: Tensor): number {
  return noGrad(() => {
    // Untargeted kinds maximise the shift from the true clean embedding.
    if (goal.kind === 'untargeted') return -attackObjective(embeddings, { kind: 'untargeted', clean }).item();
    const value = attackObjective(embeddings, goal).item();
    return goal.kind === 'objective' && goal.direction === 'maximise' ? -value : value;
  });
}

describe('test-time attack suite', () => {
  for (const name of ATTACK_NAMES) {
    it(`${name} improves its objective within an 8/255 pixel budget and the input box`, () => {
      tidy(() => {
        T.manualSeed(11);
        const b = batch();
        const prepared = prepareAttack(name, b, world.gallery, suite);
        const run = { attack: name, budget: parseBudget('8/255'), iters: name === 'fgsm' ? 1 : 8 };
        const adv = featurePgd(world.embed, b.images, prepared.goal, pgdOptionsFor(run, settings));
        const before = attackerLoss(name, prepared.goal, b.clean, b.clean);
        const after = attackerLoss(name, prepared.goal, b.clean, noGrad(() => world.embed(adv)));
        assert.ok(after < before, `${name}: objective ${before} -> ${after}`);
        const delta = adv.sub(b.images);
        STD.forEach((s, c) => assert.ok(maxAbs(delta.select(1, c)) <= 8 / 255 / s + 1e-6, `${name}: channel ${c} moved beyond its budget`));
        MEAN.forEach((m, c) => {
          const channel = adv.select(1, c);
          assert.ok(channel.min().item() >= (0 - m) / STD[c]! - 1e-6 && channel.max().item() <= (1 - m) / STD[c]! + 1e-6, `${name}: channel ${c} left [0, 1] pixels`);
        });
      });
    });
  }

  it('eps 0 returns the images unchanged for every attack', () => {
    tidy(() => {
      const b = batch();
      for (const name of ATTACK_NAMES) {
        const prepared = prepareAttack(name, b, world.gallery, suite);
        const adv = featurePgd(world.embed, b.images, prepared.goal, pgdOptionsFor({ attack: name, budget: parseBudget('0'), iters: 5 }, settings));
        assert.deepEqual(adv.toNumbers(), b.images.toNumbers(), name);
      }
    });
  });

  it('fgsm takes one full step: every free input value moves by exactly eps', () => {
    tidy(() => {
      const b = batch();
      const prepared = prepareAttack('fgsm', b, world.gallery, suite);
      const wide = normalizedPixelRange([0.5, 0.5], [1e-3, 1e-3]); // a box too wide to clip: [-500, 500]
      const adv = featurePgd(world.embed, b.images, prepared.goal, pgdOptionsFor({ attack: 'fgsm', budget: parseBudget('0.05'), iters: 10 }, { ...settings, range: wide }));
      const moved = adv.sub(b.images).abs();
      assert.ok(moved.sub(0.05).abs().max().item() < 1e-6, 'every value moves by eps');
      disposeRange(wide);
    });
  });

  it('stax and mtax pull embeddings towards other-class targets; the ranking attacks move ranks', () => {
    tidy(() => {
      const b = batch();
      for (const name of ['stax', 'mtax'] as const) {
        const prepared = prepareAttack(name, b, world.gallery, suite);
        assert.equal(prepared.goal.kind, 'targeted');
        const targets = (prepared.goal as { targets: readonly Tensor[] }).targets;
        assert.equal(targets.length, name === 'stax' ? 1 : suite.mtaxTargets);
      }
      for (const name of ATTACK_NAMES.filter(isRankingAttack)) {
        const prepared = prepareAttack(name, b, world.gallery, suite);
        const adv = featurePgd(world.embed, b.images, prepared.goal, pgdOptionsFor({ attack: name, budget: parseBudget('0.5'), iters: 10 }, settings));
        const before = mean(prepared.measure(b.clean).rank!);
        const afterRank = mean(prepared.measure(noGrad(() => world.embed(adv))).rank!);
        if (name.endsWith('+')) assert.ok(afterRank < before, `${name}: rank ${before} -> ${afterRank}`);
        else assert.ok(afterRank > before, `${name}: rank ${before} -> ${afterRank}`);
      }
    });
  });

  it('targets and partners are seeded per query: the same batch draws the same ones', () => {
    tidy(() => {
      const b = batch();
      for (const name of ['mtax', 'ca-', 'qa+'] as const) {
        const first = prepareAttack(name, b, world.gallery, suite);
        const second = prepareAttack(name, b, world.gallery, suite);
        const values = (p: typeof first) => (p.goal.kind === 'targeted' ? p.goal.targets.map((t) => t.toNumbers()) : p.measure(b.clean).rank);
        assert.deepEqual(values(first), values(second), name);
      }
    });
  });

  it('an attacked batch leaves no tensors behind', () => {
    const before = T.liveTensors();
    tidy(() => {
      const b = batch();
      const prepared = prepareAttack('qa-', b, world.gallery, suite);
      featurePgd(world.embed, b.images, prepared.goal, pgdOptionsFor({ attack: 'qa-', budget: parseBudget('0.1'), iters: 2 }, settings));
    });
    assert.equal(T.liveTensors(), before);
  });
});

function mean(values: Float64Array): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}
