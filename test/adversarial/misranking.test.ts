// RobRank's TMA, LTM, GTM and GTT on the toy network: each attack moves the ranking the way it
// intends (measured before and after with plain loops over the embeddings), and the objectives,
// target choices and measures agree with the same quantities recomputed here by hand.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { prepareAttack, type AttackName, type QueryBatch } from '../../src/adversarial/attacks.js';
import { disposeRange, normalizedPixelRange, parseBudget } from '../../src/adversarial/budget.js';
import { pgdOptionsFor } from '../../src/adversarial/robustness.js';
import { int64Tensor } from '../../src/adversarial/gallery.js';
import { misrankObjective, nearestOtherThanTop1, retainedInTopK } from '../../src/adversarial/misranking.js';
import { featurePgd } from '../../src/adversarial/pgd.js';
import { randomRows } from '../../src/adversarial/targets.js';
import * as T from '../../src/torch/index.js';
import { noGrad, type Tensor } from '../../src/torch/index.js';
import { MEAN, STD, toy } from './fixtures.js';

const world = toy(30, 9);
const range = normalizedPixelRange(MEAN, STD);
after(() => {
  disposeRange(range);
  world.dispose();
});

const QUERIES = 12;
const SEED = 4;
const ids = Int32Array.from({ length: QUERIES }, (_, i) => i);
const labels = Int32Array.from(ids, (i) => world.labels[i]!);
const suite = { mtaxTargets: 3, rankPartners: 1, topFraction: 0.1, seed: SEED };

/** Rows of a [n, D] tensor as plain arrays. */
function rowsOf(t: Tensor): number[][] {
  const values = noGrad(() => T.tidy(() => t.detach().contiguous().toFloat32Array()));
  const dim = t.shape[1]!;
  return Array.from({ length: t.shape[0]! }, (_, i) => Array.from(values.subarray(i * dim, (i + 1) * dim)));
}

const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);
const distance = (a: number[], b: number[]) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0));
const unit = (a: number[]) => a.map((v) => v / Math.sqrt(dot(a, a)));
function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum / values.length;
}

const galleryRows = rowsOf(world.gallery.embeddings);

/** Gallery rows of query i sorted nearest first, its own copy (row i) left out. */
function ranking(query: number[], own: number): number[] {
  return galleryRows
    .map((row, r) => ({ r, d: distance(query, row) }))
    .filter((e) => e.r !== own)
    .sort((a, b) => a.d - b.d)
    .map((e) => e.r);
}

/**
 * The clean and attacked embeddings of the queries under one attack (32/255 box, steps of 4/255,
 * 16 iterations, no random start). Call inside a tidy scope: its tensors belong to it.
 */
function attackWith(name: AttackName): { clean: number[][]; attacked: number[][]; prepared: ReturnType<typeof prepareAttack>; images: Tensor; cleanT: Tensor; attackedT: Tensor } {
  const images = world.images.indexSelect(0, int64Tensor(ids, 'cpu'));
  const cleanT = noGrad(() => world.embed(images));
  const batch: QueryBatch = { images, clean: cleanT, labels, ids, ownRows: ids };
  const prepared = prepareAttack(name, batch, world.gallery, suite);
  const pgd = pgdOptionsFor({ attack: name, budget: parseBudget('32/255'), iters: 16 }, { norm: 'linf', stepSize: parseBudget('4/255'), randomStart: 0, range, std: STD });
  const adversarial = featurePgd(world.embed, images, prepared.goal, pgd);
  const attackedT = noGrad(() => world.embed(adversarial));
  return { clean: rowsOf(cleanT), attacked: rowsOf(attackedT), prepared, images, cleanT, attackedT };
}

/** Share of queries whose nearest gallery row (own copy left out) has their class. */
function recallAt1(embeddings: number[][]): number {
  return mean(embeddings.map((e, i) => (world.labels[ranking(e, i)[0]!] === labels[i] ? 1 : 0)));
}

describe("RobRank's misranking attacks", () => {
  it('TMA pulls each query towards its random target: the cosine to it rises, as recomputed by hand', () => {
    T.tidy(() => {
      const { clean, attacked, prepared, cleanT, attackedT } = attackWith('tma');
      const targets = randomRows(world.gallery, ids, ids, 1, SEED, 'tma');
      const byHand = (rows: number[][]) => rows.map((e, i) => dot(unit(e), galleryRows[targets[i]!]!));
      const before = prepared.measure(cleanT).cosine!;
      const afterAttack = prepared.measure(attackedT).cosine!;
      byHand(clean).forEach((c, i) => assert.ok(Math.abs(c - before[i]!) < 1e-5, `clean cosine ${i}`));
      byHand(attacked).forEach((c, i) => assert.ok(Math.abs(c - afterAttack[i]!) < 1e-5, `attacked cosine ${i}`));
      assert.ok(mean(afterAttack) > mean(before) + 0.05, `cosine ${mean(before)} -> ${mean(afterAttack)}`);
      // The objective is 1 - cosine, averaged.
      const loss = noGrad(() => (prepared.goal as { loss: (e: Tensor) => Tensor }).loss(cleanT).item());
      assert.ok(Math.abs(loss - (1 - mean(before))) < 1e-5, `loss ${loss}`);
    });
  });

  it('LTM shrinks the gap [farthest other-class - nearest same-class]_+ (a plain loop agrees) and Recall@1 does not rise', () => {
    T.tidy(() => {
      const { clean, attacked, cleanT, attackedT } = attackWith('ltm');
      const gap = (rows: number[][]) =>
        mean(
          rows.map((e, i) => {
            let farthestOther = -Infinity;
            let nearestSame = Infinity;
            galleryRows.forEach((row, r) => {
              const d = distance(e, row);
              if (world.labels[r] !== labels[i]) farthestOther = Math.max(farthestOther, d);
              else if (r !== i) nearestSame = Math.min(nearestSame, d);
            });
            return Math.max(0, farthestOther - nearestSame);
          }),
        );
      const objective = misrankObjective(world.gallery, labels, ids);
      const before = noGrad(() => objective(cleanT).item());
      const afterAttack = noGrad(() => objective(attackedT).item());
      assert.ok(Math.abs(before - gap(clean)) < 1e-5, `clean gap ${before} vs ${gap(clean)}`);
      assert.ok(Math.abs(afterAttack - gap(attacked)) < 1e-5, `attacked gap ${afterAttack} vs ${gap(attacked)}`);
      assert.ok(afterAttack < before - 0.05, `gap ${before} -> ${afterAttack}`);
      assert.ok(recallAt1(attacked) <= recallAt1(clean), `recall@1 ${recallAt1(clean)} -> ${recallAt1(attacked)}`);
    });
  });

  it("GTM targets the nearest row outside the clean top-1's class and pulls the query onto it", () => {
    T.tidy(() => {
      const { clean, attacked, cleanT } = attackWith('gtm');
      const targets = nearestOtherThanTop1(world.gallery, cleanT, ids);
      clean.forEach((e, i) => {
        const order = ranking(e, i);
        const top1Class = world.labels[order[0]!];
        assert.equal(targets[i], order.find((r) => world.labels[r] !== top1Class), `target of query ${i}`);
      });
      const toTarget = (rows: number[][]) => mean(rows.map((e, i) => distance(e, galleryRows[targets[i]!]!)));
      assert.ok(toTarget(attacked) < toTarget(clean) - 0.05, `distance to target ${toTarget(clean)} -> ${toTarget(attacked)}`);
      // More queries now retrieve a row of another class than their clean top-1 first.
      const misranked = (rows: number[][]) => mean(rows.map((e, i) => (world.labels[ranking(e, i)[0]!] !== world.labels[ranking(clean[i]!, i)[0]!] ? 1 : 0)));
      assert.equal(misranked(clean), 0);
      assert.ok(misranked(attacked) > 0.25, `misranked share ${misranked(attacked)}`);
      assert.ok(recallAt1(attacked) <= recallAt1(clean), `recall@1 ${recallAt1(clean)} -> ${recallAt1(attacked)}`);
    });
  });

  it("GTT pushes the clean top-1 down the query's ranking: retain@4 falls from 1, as a plain loop counts it", () => {
    T.tidy(() => {
      const { clean, attacked, prepared, cleanT, attackedT } = attackWith('gtt');
      const top1 = clean.map((e, i) => ranking(e, i)[0]!);
      const positionOfTop1 = (rows: number[][]) => rows.map((e, i) => ranking(e, i).indexOf(top1[i]!));
      assert.deepEqual(positionOfTop1(clean), new Array(QUERIES).fill(0));
      const moved = positionOfTop1(attacked);
      assert.ok(mean(moved) > 1, `mean position of the clean top-1 after GTT: ${mean(moved)}`);
      const retained = prepared.measure(attackedT).retained!;
      assert.deepEqual(Array.from(retained), moved.map((p) => (p < 4 ? 1 : 0)));
      assert.deepEqual(Array.from(prepared.measure(cleanT).retained!), new Array(QUERIES).fill(1));
      assert.ok(mean(retained) < 1);
      // retainedInTopK with k = 1 is "still the top-1".
      assert.deepEqual(Array.from(retainedInTopK(world.gallery, attackedT, ids, Int32Array.from(top1), 1)), moved.map((p) => (p === 0 ? 1 : 0)));
    });
  });

  it('leaves no tensors behind', () => {
    const before = T.liveTensors();
    T.tidy(() => {
      for (const name of ['tma', 'ltm', 'gtm', 'gtt'] as const) attackWith(name);
    });
    assert.equal(T.liveTensors(), before);
  });
});
