// Statistics for reports: t quantiles against closed forms and printed tables, intervals worked by
// hand, and the bootstrap's determinism, pairing and coverage on data with a known difference.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Random } from '../../src/data/random.js';
import {
  bootstrapDifference,
  excludesZero,
  mean,
  meanInterval,
  pairedDifference,
  quantileSorted,
  sampleStd,
  studentTCdf,
  studentTQuantile,
} from '../../src/report/statistics/stats.js';

const close = (actual: number, expected: number, tol: number, what = '') =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what} ${actual} is not within ${tol} of ${expected}`);

describe('Student t', () => {
  it('matches printed two-sided 95% table values (3 decimals)', () => {
    const table: [number, number][] = [
      [1, 12.706], [2, 4.303], [3, 3.182], [4, 2.776], [5, 2.571], [6, 2.447], [7, 2.365], [8, 2.306],
      [9, 2.262], [10, 2.228], [15, 2.131], [20, 2.086], [30, 2.042], [60, 2.0], [120, 1.98],
    ];
    for (const [df, t] of table) close(studentTQuantile(0.975, df), t, 0.0005, `df=${df}`);
    close(studentTQuantile(0.995, 1), 63.657, 0.0005);
    close(studentTQuantile(0.995, 5), 4.032, 0.0005);
    close(studentTQuantile(0.95, 10), 1.812, 0.0005);
    close(studentTQuantile(0.025, 4), -2.776, 0.0005);
  });

  it('matches closed forms for df = 1 (Cauchy) and df = 2 to ~12 digits', () => {
    for (const p of [1e-6, 0.001, 0.025, 0.1, 0.3, 0.49, 0.51, 0.75, 0.9, 0.975, 0.999]) {
      const cauchy = -1 / Math.tan(Math.PI * p); // = tan(pi (p - 1/2)), without the rounding of p - 1/2 near a pole
      close(studentTQuantile(p, 1), cauchy, 1e-11 * Math.max(1, Math.abs(cauchy)), `df=1 p=${p}`);
      const two = (2 * p - 1) / Math.sqrt(2 * p * (1 - p));
      close(studentTQuantile(p, 2), two, 1e-11 * Math.max(1, Math.abs(two)), `df=2 p=${p}`);
    }
    for (const t of [-30, -2, -0.1, 0, 0.5, 3, 100]) {
      close(studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, 1e-14, `cdf df=1 t=${t}`);
      close(studentTCdf(t, 2), 0.5 + t / (2 * Math.sqrt(2 + t * t)), 1e-14, `cdf df=2 t=${t}`);
    }
  });

  it('agrees with more digits of reference values and tends to the normal quantile', () => {
    close(studentTQuantile(0.975, 4), 2.7764451051977987, 1e-10);
    close(studentTQuantile(0.975, 10), 2.2281388519649385, 1e-10);
    close(studentTQuantile(0.975, 30), 2.0422724563012373, 1e-10);
    close(studentTQuantile(0.975, 1e6), 1.959966, 2e-6);
  });

  it('inverts its own CDF for non-integer degrees of freedom and both tails', () => {
    for (const df of [1, 1.5, 2.5, 7.3, 44]) {
      for (const p of [0.0005, 0.02, 0.2, 0.5, 0.8, 0.98, 0.9995]) close(studentTCdf(studentTQuantile(p, df), df), p, 1e-12, `df=${df} p=${p}`);
    }
    assert.equal(studentTQuantile(0, 3), -Infinity);
    assert.equal(studentTQuantile(1, 3), Infinity);
    assert.throws(() => studentTQuantile(0.5, 0), /degrees of freedom/);
    assert.throws(() => studentTQuantile(1.5, 3), /p must be/);
  });
});

describe('summaries over seeds', () => {
  it('computes mean, sample std (n - 1) and the t interval of a hand-worked example', () => {
    const xs = [2, 4, 4, 4, 5, 5, 7, 9];
    assert.equal(mean(xs), 5);
    close(sampleStd(xs), Math.sqrt(32 / 7), 1e-14);
    const ci = meanInterval(xs);
    // s = 2.138090, t_{0.975,7} = 2.364624, half width = 2.364624 * 2.138090 / sqrt(8) = 1.787488
    close(ci.lo, 5 - 1.787488, 1e-6);
    close(ci.hi, 5 + 1.787488, 1e-6);
    assert.deepEqual([ci.n, ci.df, ci.level], [8, 7, 0.95]);
    const one = meanInterval([0.7]);
    assert.deepEqual([one.estimate, one.lo, one.hi, one.df], [0.7, 0.7, 0.7, 0]);
    assert.ok(Number.isNaN(one.std));
    assert.throws(() => sampleStd([1]), /at least 2/);
    assert.throws(() => mean([1, Number.NaN]), /not a finite number/);
  });

  it('pairs method and baseline per seed', () => {
    const d = pairedDifference([0.8, 0.82, 0.79], [0.78, 0.79, 0.78]);
    assert.deepEqual(d.differences.map((x) => Number(x.toFixed(12))), [0.02, 0.03, 0.01]);
    close(d.estimate, 0.02, 1e-12);
    close(d.std, 0.01, 1e-12);
    // half width = t_{0.975,2} * 0.01 / sqrt(3) = 4.302653 * 0.01 / 1.732051 = 0.0248414
    close(d.lo, 0.02 - 0.0248414, 1e-6);
    close(d.hi, 0.02 + 0.0248414, 1e-6);
    assert.equal(excludesZero(d), false);
    assert.equal(excludesZero(pairedDifference([0.8, 0.82, 0.81], [0.78, 0.8, 0.79])), true);
    assert.throws(() => pairedDifference([1, 2], [1]), /one per seed/);
  });

  it('interpolates quantiles linearly (type 7)', () => {
    assert.equal(quantileSorted([1, 2, 3, 4], 0.5), 2.5);
    assert.equal(quantileSorted([1, 2, 3, 4], 0), 1);
    assert.equal(quantileSorted([1, 2, 3, 4], 1), 4);
    close(quantileSorted([0, 10], 0.025), 0.25, 1e-12);
  });
});

/** Hits of two methods on n queries from one uniform per query: a hits below pa, b below pb. */
function comonotoneHits(rng: Random, n: number, pa: number, pb: number): [Uint8Array, Uint8Array] {
  const a = new Uint8Array(n);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng.next();
    a[i] = u < pa ? 1 : 0;
    b[i] = u < pb ? 1 : 0;
  }
  return [a, b];
}

describe('paired bootstrap', () => {
  it('is reproducible with a seed and changes with it', () => {
    const [a, b] = comonotoneHits(new Random(1, 'data'), 200, 0.7, 0.6);
    const x = bootstrapDifference(a, b, { seed: 5, resamples: 500 });
    assert.deepEqual(x, bootstrapDifference(a, b, { seed: 5, resamples: 500 }));
    assert.notDeepEqual([x.lo, x.hi], (({ lo, hi }) => [lo, hi])(bootstrapDifference(a, b, { seed: 6, resamples: 500 })));
    assert.ok(x.lo <= x.estimate && x.estimate <= x.hi);
  });

  it('gives a degenerate interval when every query differs by the same amount', () => {
    const ones = new Uint8Array(50).fill(1);
    const zeros = new Uint8Array(50);
    assert.deepEqual(((r) => [r.estimate, r.lo, r.hi])(bootstrapDifference(ones, zeros, { seed: 1, resamples: 100 })), [1, 1, 1]);
    assert.deepEqual(((r) => [r.estimate, r.lo, r.hi])(bootstrapDifference(ones, ones, { seed: 1, resamples: 100 })), [0, 0, 0]);
  });

  it('keeps the pairing: correlated hits give a much narrower interval than independent resampling would', () => {
    const [a, b] = comonotoneHits(new Random(2, 'data'), 300, 0.7, 0.6);
    const ci = bootstrapDifference(a, b, { seed: 3 });
    // Paired: d is 0/1 with p = 0.1, width ~ 2 * 1.96 * sqrt(0.09 / 300) = 0.068. Unpaired: ~0.15.
    assert.ok(ci.hi - ci.lo < 0.1, `width ${ci.hi - ci.lo}`);
    assert.ok(ci.hi - ci.lo > 0.04, `width ${ci.hi - ci.lo}`);
    assert.ok(excludesZero(ci));
  });

  it('shrinks like 1/sqrt(n) and widens with the level', () => {
    const width = (n: number, level = 0.95) => {
      const [a, b] = comonotoneHits(new Random(n, 'data'), n, 0.7, 0.5);
      const ci = bootstrapDifference(a, b, { seed: 4, level });
      return ci.hi - ci.lo;
    };
    const ratio = width(100) / width(1600);
    assert.ok(ratio > 3 && ratio < 5, `width ratio ${ratio}, expected about 4`);
    assert.ok(width(400, 0.99) > width(400, 0.9));
  });

  it('covers the true difference in about 95% of repeated experiments', () => {
    const rng = new Random(7, 'coverage');
    const trials = 200;
    let covered = 0;
    for (let t = 0; t < trials; t++) {
      const [a, b] = comonotoneHits(rng, 300, 0.7, 0.6);
      const ci = bootstrapDifference(a, b, { seed: t, resamples: 500 });
      if (ci.lo <= 0.1 && 0.1 <= ci.hi) covered++;
    }
    // Binomial sd of the coverage estimate at 200 trials is 0.015; a 90% or 99% interval would fail.
    assert.ok(covered / trials >= 0.9 && covered / trials <= 0.985, `coverage ${covered / trials}`);
  });

  it('rejects mismatched or empty inputs', () => {
    assert.throws(() => bootstrapDifference([1, 0], [1], { seed: 1 }), /one per query/);
    assert.throws(() => bootstrapDifference([], [], { seed: 1 }), /at least 1/);
    assert.throws(() => bootstrapDifference([1], [0], { seed: 1, resamples: 0 }), /resamples/);
  });
});
