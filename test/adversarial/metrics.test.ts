// Robust metrics against hand-built cases: embeddings on the unit circle, where every distance and
// rank can be worked out by hand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prepareAttack } from '../../src/adversarial/attacks.js';
import { budgetInInputUnits, parseBudget } from '../../src/adversarial/budget.js';
import { CleanGallery } from '../../src/adversarial/gallery.js';
import { rankPercentiles } from '../../src/adversarial/ranking.js';
import { GalleryClusters, galleryMetrics } from '../../src/adversarial/robust-metrics.js';
import { empiricalRobustnessScore, robustnessRatio } from '../../src/adversarial/scores.js';
import * as T from '../../src/torch/index.js';
import { tidy, type Tensor } from '../../src/torch/index.js';

/** Unit vectors at the given angles (degrees), [n, 2]. */
function circle(degrees: readonly number[]): Tensor {
  return T.tensor(degrees.flatMap((d) => [Math.cos((d * Math.PI) / 180), Math.sin((d * Math.PI) / 180)]), [degrees.length, 2]);
}

function withGallery<R>(degrees: readonly number[], labels: readonly number[], fn: (g: CleanGallery) => R): R {
  const gallery = tidy(() => new CleanGallery(circle(degrees), Int32Array.from(labels)));
  try {
    return tidy(() => fn(gallery));
  } finally {
    gallery.dispose();
  }
}

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} != ${b}`);

describe('robust retrieval metrics', () => {
  // rows:      0    1    2     3     4
  const angles = [0, 10, 20, 180, 190];
  const labels = [0, 0, 1, 1, 1];

  it('never retrieve a query its own clean copy (Recall@K, MAP@R by hand)', () => {
    withGallery(angles, labels, (gallery) => {
      const clusters = new GalleryClusters(gallery, 0);
      // Query 0 (class 0) is row 0; query 1 (class 1) is row 2.
      const queries = { embeddings: circle([0, 20]), labels: Int32Array.from([0, 1]), ownRows: Int32Array.from([0, 2]) };
      const m = galleryMetrics(queries, gallery, clusters, [1, 2, 4]);
      // Row 0 finds row 1 first (hit); row 2 finds rows 1, 0 (class 0), then 3, 4 (class 1).
      close(m['recall@1'], 0.5, 'recall@1');
      close(m['recall@2'], 0.5, 'recall@2');
      close(m['recall@4'], 1, 'recall@4');
      // MAP@R: query 0 has R = 1 relevant item at rank 1 -> 1; query 1 has R = 2 at ranks 3, 4 -> 0.
      close(m['map@r'], 0.5, 'map@r');
      // Without the exclusion each query would find itself first.
      const selfHit = galleryMetrics({ ...queries, ownRows: Int32Array.from([-1, -1]) }, gallery, clusters, [1]);
      close(selfHit['recall@1'], 1, 'recall@1 with own copies');
      clusters.dispose();
    });
  });

  it('NMI: the clean gallery clusters fix the centres; queries that change side lose it', () => {
    withGallery([0, 10, 5, 180, 190, 170], [0, 0, 0, 1, 1, 1], (gallery) => {
      // Seed 2: k-means++ draws centres on both sides (seed 0's second draw picks row 0, next to the first).
      const clusters = new GalleryClusters(gallery, 2);
      const labels = Int32Array.from([0, 0, 1, 1]);
      const ownRows = Int32Array.from([0, 1, 3, 4]);
      const clean = galleryMetrics({ embeddings: circle([0, 10, 180, 190]), labels, ownRows }, gallery, clusters, [1]);
      close(clean.nmi, 1, 'clean nmi');
      const moved = galleryMetrics({ embeddings: circle([185, 175, 180, 190]), labels, ownRows }, gallery, clusters, [1]);
      close(moved.nmi, 0, 'nmi with every query on one side');
      close(moved['recall@1'], 0.5, 'recall@1 of the moved queries');
      clusters.dispose();
    });
  });

  it('success rate: the nearest gallery image (own copy excluded) has a target class', () => {
    withGallery(angles, labels, (gallery) => {
      const ids = Int32Array.from([0, 1]);
      const batch = { images: T.zeros([2, 1]), clean: circle([0, 190]), labels: Int32Array.from([0, 1]), ids, ownRows: Int32Array.from([0, 4]) };
      const prepared = prepareAttack('stax', batch, gallery, { mtaxTargets: 5, rankPartners: 1, topFraction: 0.01, seed: 3 });
      // Clean: row 0 finds row 1 (its class), row 4 finds row 3 (its class): no success.
      assert.deepEqual([...prepared.measure(batch.clean).success!], [0, 0]);
      // Attacked onto the other class's side: both succeed.
      assert.deepEqual([...prepared.measure(circle([185, 15])).success!], [1, 1]);
      // One of two.
      assert.deepEqual([...prepared.measure(circle([185, 190])).success!], [1, 0]);
    });
  });

  it('rank percentiles of QA and CA count the gallery without the two images involved', () => {
    withGallery([0, 10, 20, 30, 40, 50], [0, 0, 0, 0, 0, 0], (gallery) => {
      // QA: query row 0 at 0 deg, candidate row 3 (30 deg): rows 1 and 2 are nearer, of 4 counted.
      const qa = rankPercentiles(gallery, { attack: 'qa+', partners: Int32Array.from([3]), perImage: 1, ownRows: Int32Array.from([0]) }, circle([0]));
      close(qa[0]!, 0.5, 'qa rank');
      // CA: candidate row 0 moved to 25 deg, query row 5 (50 deg): rows 4 (40) and 3 (30) are nearer.
      const ca = rankPercentiles(gallery, { attack: 'ca+', partners: Int32Array.from([5]), perImage: 1, ownRows: Int32Array.from([0]) }, circle([25]));
      close(ca[0]!, 0.5, 'ca rank');
      // Two partners average: candidate at 45 deg for query 50 (no row nearer) and query 10 (rows 2, 3, 4 nearer... of 4: 20, 30, 40 -> 3).
      const two = rankPercentiles(gallery, { attack: 'ca-', partners: Int32Array.from([5, 1]), perImage: 2, ownRows: Int32Array.from([0]) }, circle([45]));
      close(two[0]!, (0 / 4 + 3 / 4) / 2, 'mean of two partners');
    });
  });
});

describe('budgets, ERS and robustness ratios', () => {
  it('parses normalized numbers and pixel fractions, and converts pixels with the std', () => {
    assert.deepEqual(parseBudget('0.01'), { text: '0.01', value: 0.01, unit: 'normalized' });
    assert.deepEqual(parseBudget(' 8 / 255 '), { text: '8 / 255', value: 8 / 255, unit: 'pixel' });
    assert.equal(parseBudget('1e-2').value, 0.01);
    for (const bad of ['', 'abc', '-1', '1/0', '4/', '/255', '0.1.2']) assert.throws(() => parseBudget(bad), RangeError, bad);
    assert.deepEqual(budgetInInputUnits(parseBudget('4/255'), [0.25, 0.5]), [4 / 255 / 0.25, 4 / 255 / 0.5]);
    assert.equal(budgetInInputUnits(parseBudget('0.03'), [0.25, 0.5]), 0.03);
  });

  it("ERS rescales all ten components as RobRank's pjswipe does (1 robust) and averages them", () => {
    // Raw measures as the attacks report them, rescaled by hand:
    //   CA+ rank 0.25 -> 2 * 0.25 = 0.5      CA- rank 0.2 -> 1 - 0.2 = 0.8
    //   QA+ rank 0.5  -> 1.0                 QA- rank 0.6 -> 0.4
    //   TMA cosine 0.3 -> 1 - 0.3 = 0.7      ES:D shift 1.0 -> (2 - 1) / 2 = 0.5
    //   ES:R 0.3, LTM 0.1, GTM 0.2, GTT 0.6 stay as they are
    //   ERS = (0.5 + 0.8 + 1.0 + 0.4 + 0.7 + 0.5 + 0.3 + 0.1 + 0.2 + 0.6) / 10 = 5.1 / 10 = 0.51
    const raw = { 'CA+': 0.25, 'CA-': 0.2, 'QA+': 0.5, 'QA-': 0.6, TMA: 0.3, 'ES:D': 1, 'ES:R': 0.3, LTM: 0.1, GTM: 0.2, GTT: 0.6 } as const;
    const expected = { 'CA+': 0.5, 'CA-': 0.8, 'QA+': 1.0, 'QA-': 0.4, TMA: 0.7, 'ES:D': 0.5, 'ES:R': 0.3, LTM: 0.1, GTM: 0.2, GTT: 0.6 } as const;
    const r = empiricalRobustnessScore(raw);
    assert.deepEqual(Object.keys(r.components), ['CA+', 'CA-', 'QA+', 'QA-', 'TMA', 'ES:D', 'ES:R', 'LTM', 'GTM', 'GTT']);
    for (const [name, value] of Object.entries(expected)) {
      const c = r.components[name as keyof typeof expected]!;
      assert.equal(c.raw, raw[name as keyof typeof raw], name);
      close(c.rescaled, value, name);
    }
    close(r.score!, 0.51, 'ers');
    assert.deepEqual(r.missing, []);
    // A backfired CA+ (rank 0.75) scores 1.5, a TMA pushed away from its target (cosine -0.5) 1.5: RobRank does not clip.
    close(empiricalRobustnessScore({ 'CA+': 0.75 }).score!, 1.5, 'ca+ unclipped');
    close(empiricalRobustnessScore({ TMA: -0.5 }).score!, 1.5, 'tma unclipped');
    // An ES shift of 2 (antipodal) is fully broken: 0; a partial score averages what is there.
    const partial = empiricalRobustnessScore({ 'ES:D': 2, 'ES:R': 0.5 });
    close(partial.score!, 0.25, 'partial');
    assert.deepEqual(partial.missing, ['CA+', 'CA-', 'QA+', 'QA-', 'TMA', 'LTM', 'GTM', 'GTT']);
    assert.equal(empiricalRobustnessScore({}).score, null);
  });

  it('the robustness ratio is value over reference, and null where either is missing or the reference is 0', () => {
    assert.equal(robustnessRatio(0.75, 0.5), 1.5);
    assert.equal(robustnessRatio(0, 0.5), 0);
    assert.equal(robustnessRatio(0.3, 0), null);
    assert.equal(robustnessRatio(null, 0.5), null);
    assert.equal(robustnessRatio(0.5, undefined), null);
  });
});
