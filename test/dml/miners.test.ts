import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createDistance,
  DistanceWeightedMiner,
  MultiSimilarityLoss,
  positivePairs,
  RandomMiner,
  SemiHardMiner,
  type Triplets,
} from '../../src/dml/index.js';
import { liveTensors, manualSeed, tensor, tidy, type Tensor } from '../../src/torch/index.js';
import { labelTensor, randomRows } from './fixtures.js';
import { euclidean, normalize } from './reference.js';

/** Points on the unit circle at the given angles (degrees). */
function circle(angles: number[]): Tensor {
  return tensor(angles.flatMap((a) => [Math.cos((a * Math.PI) / 180), Math.sin((a * Math.PI) / 180)]), [angles.length, 2]);
}

function lists(t: Triplets): { a: number[]; p: number[]; n: number[] } {
  return { a: t.anchors.toNumbers(), p: t.positives.toNumbers(), n: t.negatives.toNumbers() };
}

describe('positive pairs', () => {
  it('lists every ordered same-class pair and none for a single-class batch', () => {
    assert.deepEqual(positivePairs([4, 7, 4, 7, 9]), { anchors: [0, 1, 2, 3], positives: [2, 3, 0, 1] });
    assert.deepEqual(positivePairs([1, 1, 1]), { anchors: [], positives: [] });
  });
});

describe('random miner', () => {
  it('draws only negatives of the anchor and reaches all of them', () => {
    manualSeed(3);
    const labels = [0, 0, 1, 2, 3, 1];
    const seen = new Set<number>();
    tidy(() => {
      for (let round = 0; round < 60; round++) {
        const t = lists(new RandomMiner().mine(circle([0, 10, 20, 30, 40, 50]), labelTensor(labels)));
        t.a.forEach((a, i) => {
          assert.notEqual(labels[t.n[i]!], labels[a]);
          if (a === 0) seen.add(t.n[i]!);
        });
      }
    });
    assert.deepEqual([...seen].sort(), [2, 3, 4, 5]);
  });
});

describe('semi-hard miner', () => {
  // Anchor 0 at 0°, its positive 1 at 40° (chord 0.684). Negatives: 2 at 20° (closer than the
  // positive: hard), 3 at 50° (farther, within the 0.2 band: semi-hard), 4 at 120° (beyond the band).
  const points = circle([0, 40, 20, 50, 120]);
  const labels = labelTensor([0, 0, 1, 2, 3]);
  const euclid = createDistance('euclidean');

  it('picks the negative inside the band beyond the positive', () => {
    manualSeed(1);
    tidy(() => {
      for (let round = 0; round < 20; round++) {
        const t = lists(new SemiHardMiner(euclid, { margin: 0.2 }).mine(points, labels));
        assert.equal(t.n[t.a.indexOf(0)], 3);
      }
    });
  });

  it('falls back to any negative when the band is empty', () => {
    manualSeed(2);
    const picks = new Set<number>();
    tidy(() => {
      for (let round = 0; round < 40; round++) {
        const t = lists(new SemiHardMiner(euclid, { margin: 0.01 }).mine(points, labels));
        picks.add(t.n[t.a.indexOf(0)]!);
      }
    });
    assert.deepEqual([...picks].sort(), [2, 3, 4]);
  });

  it('reads the band the right way round for a similarity', () => {
    manualSeed(1);
    tidy(() => {
      // Cosine: positive at 40° has similarity 0.766; 50° gives 0.643 (less similar by 0.123 < 0.2).
      const t = lists(new SemiHardMiner(createDistance('cosine'), { margin: 0.2 }).mine(points, labels));
      assert.equal(t.n[t.a.indexOf(0)], 3);
    });
  });
});

describe('distance-weighted miner', () => {
  it('weights negatives by the inverse sphere density with both cutoffs', () => {
    tidy(() => {
      const rows = randomRows(9, 10, 6);
      const labels = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4];
      const weights = new DistanceWeightedMiner({ lowerCutoff: 0.5, upperCutoff: 1.4 }).weights(tensor(rows.flat(), [10, 6], { dtype: 'float64' }), labelTensor(labels));
      const w = weights.toNumbers();
      const x = rows.map(normalize);
      const logInverseDensity = (d: number): number => -(6 - 2) * Math.log(d) - ((6 - 3) / 2) * Math.log(1 - (d * d) / 4);
      x.forEach((anchor, i) => {
        const allowed = x.map((other, j) => labels[j] !== labels[i] && euclidean(anchor, other) < 1.4);
        if (!allowed.some(Boolean)) return; // fallback row, checked below
        const logs = x.map((other, j) => (allowed[j] ? logInverseDensity(Math.max(euclidean(anchor, other), 0.5)) : -Infinity));
        const max = Math.max(...logs);
        logs.forEach((l, j) => assert.ok(Math.abs(w[i * 10 + j]! - Math.exp(l - max)) < 1e-9, `weight ${i},${j}`));
      });
    });
  });

  it('never draws positives or far negatives, prefers close ones, and falls back to uniform', () => {
    manualSeed(4);
    tidy(() => {
      // Anchor 0 at 0°; its positive at 5°; negatives at 35° (d 0.60), 75° (d 1.22) and 150° (d 1.93 > 1.4).
      const points = circle([0, 5, 35, 75, 150]);
      const labels = labelTensor([0, 0, 1, 2, 3]);
      const counts = new Map<number, number>();
      for (let round = 0; round < 200; round++) {
        const t = lists(new DistanceWeightedMiner({ upperCutoff: 1.4 }).mine(points, labels));
        const n = t.n[t.a.indexOf(0)]!;
        counts.set(n, (counts.get(n) ?? 0) + 1);
      }
      assert.equal(counts.get(4) ?? 0, 0, 'beyond the cutoff');
      assert.ok((counts.get(2) ?? 0) > (counts.get(3) ?? 0), `closer negative preferred: ${[...counts]}`);
      // Every negative of anchor 4 (at 150°) lies beyond 1.4 except none: its row falls back to uniform.
      const far = new DistanceWeightedMiner({ upperCutoff: 0.1 }).weights(points, labels).toNumbers();
      assert.deepEqual(far.slice(0, 5), [0, 0, 1, 1, 1]);
    });
  });
});

describe('multi-similarity pair mining', () => {
  it('keeps negatives above the hardest positive minus the margin and positives below the hardest negative plus it', () => {
    tidy(() => {
      // Anchor 0 at 0°. Positives at 30° (s .866) and 60° (s .5). Negatives at 55° (s .574),
      // 80° (s .174) and 66° (s .407).
      const points = circle([0, 30, 60, 55, 80, 66]);
      const labels = labelTensor([0, 0, 0, 1, 2, 3]);
      const loss = new MultiSimilarityLoss({ margin: 0.1 });
      const kept = loss.minePairs(loss.distance.matrix(points), labels);
      const row = (m: Tensor): number[] => m.toNumbers().slice(0, 6);
      // Negatives kept when s + 0.1 > 0.5: 55° and 66°, not 80°.
      assert.deepEqual(row(kept.negative), [0, 0, 0, 1, 0, 1]);
      // Positives kept when s - 0.1 < 0.574: only 60°.
      assert.deepEqual(row(kept.positive), [0, 0, 1, 0, 0, 0]);
    });
  });
});

describe('miner memory', () => {
  it('mining leaves no tensor behind', () => {
    const points = circle([0, 5, 35, 75, 150, 200]);
    const labels = labelTensor([0, 0, 1, 1, 2, 2]);
    const before = liveTensors();
    for (const miner of [new RandomMiner(), new SemiHardMiner(createDistance('euclidean'), { margin: 0.2 }), new DistanceWeightedMiner()]) {
      tidy(() => {
        miner.mine(points, labels);
      });
    }
    assert.equal(liveTensors(), before);
    points.dispose();
    labels.dispose();
  });
});
