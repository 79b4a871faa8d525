// The detector's statistics: AUROC as the share of (attacked, clean) pairs ordered right, ties
// counting one half, checked on a case worked by hand and against the area under its own ROC
// curve; the ROC curve's points on the same case.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auroc, rocCurve } from '../../src/adversarial/index.js';

/** Trapezoid area under a curve given by rising x. */
function area(x: readonly number[], y: readonly number[]): number {
  let sum = 0;
  for (let i = 1; i < x.length; i++) sum += ((x[i]! - x[i - 1]!) * (y[i]! + y[i - 1]!)) / 2;
  return sum;
}

describe('detector AUROC', () => {
  it('a hand-worked case: 6.5 of 9 pairs ordered right (one tie) = 13/18', () => {
    // Attacked 0.9, 0.8, 0.4 against clean 0.5, 0.3, 0.8:
    // 0.9 beats all three (3); 0.8 beats 0.5 and 0.3 and ties 0.8 (2.5); 0.4 beats 0.3 (1).
    const positives = [0.9, 0.8, 0.4];
    const negatives = [0.5, 0.3, 0.8];
    assert.ok(Math.abs(auroc(positives, negatives) - 13 / 18) < 1e-12);
    const roc = rocCurve(positives, negatives);
    // Thresholds from the top: 0.9 (one attacked), 0.8 (one of each), 0.5, 0.4, 0.3.
    const third = 1 / 3;
    assert.deepEqual(roc.fpr.map((v) => +v.toFixed(6)), [0, 0, third, 2 * third, 2 * third, 1].map((v) => +v.toFixed(6)));
    assert.deepEqual(roc.tpr.map((v) => +v.toFixed(6)), [0, third, 2 * third, 2 * third, 1, 1].map((v) => +v.toFixed(6)));
    assert.ok(Math.abs(area(roc.fpr, roc.tpr) - 13 / 18) < 1e-12);
  });

  it('1 for a perfect detector, 0 for a reversed one, 0.5 for identical scores', () => {
    assert.equal(auroc([3, 4, 5], [0, 1, 2]), 1);
    assert.equal(auroc([0, 1], [2, 3, 4]), 0);
    assert.equal(auroc([0.2, 0.2], [0.2, 0.2, 0.2]), 0.5);
    assert.deepEqual(rocCurve([0.2, 0.2], [0.2, 0.2, 0.2]), { fpr: [0, 1], tpr: [0, 1] });
  });

  it('equals the area under its ROC curve on random scores, and the curve is thinned to its limit', () => {
    let state = 7;
    const next = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const positives = Array.from({ length: 500 }, () => Math.round(100 * (next() + 0.3)) / 100);
    const negatives = Array.from({ length: 400 }, () => Math.round(100 * next()) / 100);
    const full = rocCurve(positives, negatives, 10_000);
    assert.ok(Math.abs(area(full.fpr, full.tpr) - auroc(positives, negatives)) < 1e-12);
    // Counting the pairs directly.
    let pairs = 0;
    for (const p of positives) for (const n of negatives) pairs += p > n ? 1 : p === n ? 0.5 : 0;
    assert.ok(Math.abs(auroc(positives, negatives) - pairs / (500 * 400)) < 1e-12);
    const thin = rocCurve(positives, negatives, 11);
    assert.equal(thin.fpr.length, 11);
    assert.deepEqual([thin.fpr[0], thin.tpr[0], thin.fpr[10], thin.tpr[10]], [0, 0, 1, 1]);
  });

  it('refuses empty or non-finite scores', () => {
    assert.throws(() => auroc([], [1]), /AUROC needs scores of both kinds, got 0 attacked and 1 clean/);
    assert.throws(() => auroc([Number.NaN], [1]), /finite/);
    assert.throws(() => rocCurve([1], []), /ROC needs scores of both kinds/);
  });
});
