// Feature-space PGD: budgets, input range, objective direction, zero budget, no leaks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attackObjective, featurePgd, permutedTargets, pixelToNormalizedEps, type EmbedFn } from '../../src/adversarial/pgd.js';
import * as T from '../../src/torch/index.js';
import { F, liveTensors, noGrad, tidy } from '../../src/torch/index.js';

T.manualSeed(3);
const W = T.keep(T.randn([8, 2 * 4 * 4]));
const embed: EmbedFn = (x) => F.l2Normalize(F.linear(x.flatten(1), W), 1);
const images = () => T.randn([6, 2, 4, 4]);

function maxAbs(t: T.Tensor): number {
  return tidy(() => t.abs().max().item());
}

describe('feature-space PGD', () => {
  it('stays inside the L-infinity box and the batch value range', () => {
    tidy(() => {
      const x = images();
      const targets = noGrad(() => permutedTargets(embed(x), 1));
      const adv = featurePgd(embed, x, { kind: 'targeted', targets }, { eps: 0.05, iters: 3 });
      assert.ok(maxAbs(adv.sub(x)) <= 0.05 + 1e-6);
      assert.ok(adv.min().item() >= x.min().item() - 1e-6 && adv.max().item() <= x.max().item() + 1e-6);
    });
  });

  it('a targeted attack lowers its objective and moves embeddings towards the targets', () => {
    tidy(() => {
      const x = images();
      const clean = noGrad(() => embed(x));
      const targets = noGrad(() => permutedTargets(clean, 5)); // MTAX: five target sets
      const goal = { kind: 'targeted' as const, targets };
      const before = noGrad(() => attackObjective(clean, goal).item());
      const adv = featurePgd(embed, x, goal, { eps: 0.3, iters: 10 });
      const after = noGrad(() => attackObjective(embed(adv), goal).item());
      assert.ok(after < before, `objective ${before} -> ${after}`);
    });
  });

  it('an untargeted attack pushes embeddings away from the clean ones', () => {
    tidy(() => {
      const x = images();
      const clean = noGrad(() => embed(x));
      const adv = featurePgd(embed, x, { kind: 'untargeted', clean }, { eps: 0.3, iters: 5 });
      const moved = noGrad(() => attackObjective(embed(adv), { kind: 'untargeted', clean }).item());
      assert.ok(moved > 0.05, `mean embedding shift ${moved}`);
    });
  });

  it('eps 0 (or 0 iterations) changes nothing', () => {
    tidy(() => {
      const x = images();
      const clean = noGrad(() => embed(x));
      for (const opts of [{ eps: 0, iters: 5 }, { eps: 0.1, iters: 0 }]) {
        const adv = featurePgd(embed, x, { kind: 'untargeted', clean }, opts);
        assert.deepEqual(adv.toNumbers(), x.toNumbers());
      }
    });
  });

  it('per-channel budgets (pixel eps over each channel std) bound each channel', () => {
    tidy(() => {
      const x = images();
      const eps = pixelToNormalizedEps(8 / 255, [0.2, 0.4]);
      assert.ok(Math.abs(eps[0]! - 8 / 255 / 0.2) < 1e-12);
      const clean = noGrad(() => embed(x));
      const adv = featurePgd(embed, x, { kind: 'untargeted', clean }, { eps, iters: 2, range: { kind: 'fixed', min: -10, max: 10 } });
      const d = adv.sub(x);
      assert.ok(maxAbs(d.select(1, 0)) <= eps[0]! + 1e-6);
      assert.ok(maxAbs(d.select(1, 1)) <= eps[1]! + 1e-6);
      assert.ok(maxAbs(d.select(1, 0)) > eps[1]! + 1e-6, 'channel 0 uses its larger budget');
    });
  });

  it('the L2 variant stays inside the ball', () => {
    tidy(() => {
      const x = images();
      const clean = noGrad(() => embed(x));
      const adv = featurePgd(embed, x, { kind: 'untargeted', clean }, { eps: 0.5, iters: 4, norm: 'l2', range: { kind: 'fixed', min: -10, max: 10 } });
      const norms = adv.sub(x).flatten(1).norm(2, 1).toNumbers();
      assert.ok(norms.every((n) => n <= 0.5 + 1e-5), norms.join(','));
    });
  });

  it('frees every intermediate tensor', () => {
    const x = T.keep(images());
    const clean = T.keep(tidy(() => noGrad(() => embed(x))));
    const before = liveTensors();
    const adv = featurePgd(embed, x, { kind: 'untargeted', clean }, { eps: 0.1, iters: 3 });
    assert.equal(liveTensors(), before + 1); // only the result
    T.dispose([adv, x, clean]);
  });

  it('uses given target orders and a given random start in place of its own draws', () => {
    tidy(() => {
      const x = images();
      const clean = noGrad(() => embed(x));
      const orders = [[1, 0, 3, 2, 5, 4], [5, 4, 3, 2, 1, 0]];
      const targets = permutedTargets(clean, 2, orders);
      const rows = clean.toNumbers();
      const d = clean.shape[1]!;
      orders.forEach((order, j) => assert.deepEqual(targets[j]!.toNumbers(), order.flatMap((r) => rows.slice(r * d, (r + 1) * d))));
      assert.throws(() => permutedTargets(clean, 2, [orders[0]!]), /1 target orders given for 2/);
      assert.throws(() => permutedTargets(clean, 1, [[0, 0, 1, 2, 3, 4]]), /not a permutation/);

      // One step from a given start, by hand: start = x + noise inside the box, then a sign step
      // of eps down the objective's gradient, clipped to the box again.
      const noise = T.full([...x.shape], 0.02);
      const goal = { kind: 'targeted' as const, targets: [targets[0]!] };
      const a = featurePgd(embed, x, goal, { eps: 0.05, iters: 1, startNoise: noise });
      const b = featurePgd(embed, x, goal, { eps: 0.05, iters: 1, startNoise: noise });
      assert.deepEqual(a.toNumbers(), b.toNumbers(), 'the same start gives the same result');
      const lo = x.sub(0.05).maximum(x.min());
      const hi = x.add(0.05).minimum(x.max());
      const leaf = x.add(noise).maximum(lo).minimum(hi).setRequiresGrad(true);
      const [g] = T.grad(attackObjective(embed(leaf), goal), [leaf]);
      const want = noGrad(() => leaf.detach().sub(g!.sign().mul(0.05)).maximum(lo).minimum(hi));
      assert.ok(maxAbs(a.sub(want)) < 1e-6);
      assert.throws(() => featurePgd(embed, x, goal, { eps: 0.05, iters: 1, startNoise: T.zeros([2, 2, 4, 4]) }), /start noise of shape/);
    });
  });

  it('rejects bad budgets', () => {
    const x = images();
    const clean = embed(x);
    assert.throws(() => featurePgd(embed, x, { kind: 'untargeted', clean }, { eps: -1, iters: 1 }), /eps must be >= 0/);
    assert.throws(() => featurePgd(embed, x, { kind: 'untargeted', clean }, { eps: 0.1, iters: 1.5 }), /non-negative integer/);
    assert.throws(() => featurePgd(embed, x, { kind: 'untargeted', clean }, { eps: [0.1, 0.1, 0.1], iters: 1 }), /3 channel values/);
  });
});
