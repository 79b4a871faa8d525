import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retrievalMetrics, kmeans, nearestNeighbours, normalizedMutualInformation, pairF1 } from '../../src/dml/index.js';
import { liveTensors, tensor, tidy, type Tensor } from '../../src/torch/index.js';
import {
  clusteredEmbeddings,
  euclidean,
  normalize,
  referenceKmeans,
  referenceNmi,
  referencePairF1,
  referencePiRatio,
  referenceRetrieval,
  referenceRhoSpectrum,
  type Matrix,
} from './reference.js';

const KS = [1, 2, 4, 8];

function asTensors(rows: Matrix, labels: number[]): { x: Tensor; y: Tensor } {
  // float32, as the embeddings files hold; the reference reads the same rounded values.
  const x = tensor(rows.flat(), [rows.length, rows[0]!.length]);
  const y = tensor(labels, [labels.length], { dtype: 'int64' });
  return { x, y };
}

function rounded(x: Tensor): Matrix {
  const flat = Array.from(x.toFloat32Array());
  const dim = x.size(1);
  return Array.from({ length: x.size(0) }, (_, i) => flat.slice(i * dim, (i + 1) * dim));
}

const close = (actual: number, expected: number, tolerance: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected}`);

describe('retrieval metrics', () => {
  const data = clusteredEmbeddings(11, 9, 13, 6, 0.55);

  it('match a full-sort reference (self-excluded queries)', () => {
    tidy(() => {
      const { x, y } = asTensors(data.rows, data.labels);
      const report = retrievalMetrics({ queries: x, queryLabels: y, ks: KS, clustering: false, embeddingSpace: false });
      const ref = referenceRetrieval(rounded(x), data.labels, null, null, KS);
      for (const k of KS) close(report[`recall@${k}`], ref.recall.get(k)!, 1e-4, `recall@${k}`);
      close(report['map@r'], ref.mapAtR, 1e-4, 'map@r');
      close(report.r_precision, ref.rPrecision, 1e-4, 'r_precision');
      close(report.map, ref.map, 1e-4, 'map');
      // Mid-range values: the data is neither trivially separable nor noise.
      assert.ok(report['recall@1'] > 0.2 && report['recall@1'] < 0.95, `recall@1 ${report['recall@1']}`);
    });
  });

  it('match the reference with a separate gallery, skipping queries whose class is absent', () => {
    tidy(() => {
      const queries = data.rows.slice(0, 40);
      const queryLabels = data.labels.slice(0, 40);
      queryLabels[0] = 999; // no gallery item of this class: skipped
      const gallery = data.rows.slice(40);
      const galleryLabels = data.labels.slice(40);
      const q = asTensors(queries, queryLabels);
      const g = asTensors(gallery, galleryLabels);
      const report = retrievalMetrics({ queries: q.x, queryLabels: q.y, gallery: g.x, galleryLabels: g.y, ks: [1, 5, 30], clustering: false, embeddingSpace: false });
      const ref = referenceRetrieval(rounded(q.x), queryLabels, rounded(g.x), galleryLabels, [1, 5, 30]);
      for (const k of [1, 5, 30]) close(report[`recall@${k}`], ref.recall.get(k)!, 1e-4, `recall@${k}`);
      close(report['map@r'], ref.mapAtR, 1e-4, 'map@r');
      close(report.r_precision, ref.rPrecision, 1e-4, 'r_precision');
      close(report.map, ref.map, 1e-4, 'map');
    });
  });

  it("leave out each query's excluded gallery row (an attacked query's clean copy)", () => {
    tidy(() => {
      const gallery = data.rows;
      const queries = gallery.slice(0, 30).map((row, i) => row.map((v, d) => v + 0.05 * Math.sin(7 * i + d)));
      const queryLabels = data.labels.slice(0, 30);
      // Each query's own clean copy, except a few queries that exclude nothing or a row of another class.
      const excluded = queryLabels.map((_, i) => (i % 7 === 3 ? -1 : i % 7 === 5 ? (i + 1) % gallery.length : i));
      const q = asTensors(queries, queryLabels);
      const g = asTensors(gallery, data.labels);
      const report = retrievalMetrics({
        queries: q.x,
        queryLabels: q.y,
        gallery: g.x,
        galleryLabels: g.y,
        excludedGalleryRows: Int32Array.from(excluded),
        ks: [1, 4],
        clustering: false,
        embeddingSpace: false,
      });
      const ref = referenceRetrieval(rounded(q.x), queryLabels, rounded(g.x), data.labels, [1, 4], excluded);
      for (const k of [1, 4]) close(report[`recall@${k}`], ref.recall.get(k)!, 1e-4, `recall@${k}`);
      close(report['map@r'], ref.mapAtR, 1e-4, 'map@r');
      close(report.r_precision, ref.rPrecision, 1e-4, 'r_precision');
      close(report.map, ref.map, 1e-4, 'map');
    });
  });

  it('agree with a top-K neighbour search on Recall@K', () => {
    tidy(() => {
      const { x, y } = asTensors(data.rows, data.labels);
      const report = retrievalMetrics({ queries: x, queryLabels: y, ks: KS, clustering: false, embeddingSpace: false });
      const found = nearestNeighbours(x, { k: 8 });
      for (const k of KS) {
        let hits = 0;
        data.labels.forEach((label, i) => {
          if (Array.from(found.indices.subarray(i * 8, i * 8 + k)).some((j) => data.labels[j] === label)) hits++;
        });
        close(report[`recall@${k}`], hits / data.labels.length, 1e-12, `recall@${k}`);
      }
    });
  });

  it('give identical results for any chunk size', () => {
    tidy(() => {
      const { x, y } = asTensors(data.rows, data.labels);
      const run = (chunkSize?: number) => retrievalMetrics({ queries: x, queryLabels: y, ks: [1, 3, 200], chunkSize, clustering: false, embeddingSpace: false });
      const whole = run(x.size(0));
      for (const size of [1, 7, 50]) assert.deepEqual(run(size), whole);
      assert.deepEqual(run(), whole);
      assert.equal(whole['recall@200'], 1); // K beyond the gallery: every query has a relevant item
    });
  });

  it('find the same nearest neighbours as brute force', () => {
    tidy(() => {
      const { x } = asTensors(data.rows.slice(0, 30), data.labels.slice(0, 30));
      const rows = rounded(x).map(normalize);
      const found = nearestNeighbours(x, { k: 3, chunkSize: 4 });
      rows.forEach((row, i) => {
        const expected = rows
          .map((other, j) => ({ j, d: euclidean(row, other) }))
          .filter(({ j }) => j !== i)
          .sort((a, b) => a.d - b.d)
          .slice(0, 3);
        assert.deepEqual(Array.from(found.indices.subarray(i * 3, i * 3 + 3)), expected.map((e) => e.j));
        expected.forEach((e, n) => close(found.distances[i * 3 + n]!, e.d, 1e-4, 'distance'));
      });
    });
  });

  it('reject a query set where no class has a second sample', () => {
    tidy(() => {
      const { x, y } = asTensors(data.rows.slice(0, 5), [1, 2, 3, 4, 5]);
      assert.throws(() => retrievalMetrics({ queries: x, queryLabels: y, clustering: false }), /no query has a relevant item/);
    });
  });
});

describe('embedding-space metrics', () => {
  it('pi-ratio and rho-spectrum match their definitions', () => {
    tidy(() => {
      const data = clusteredEmbeddings(5, 6, 7, 5, 0.4);
      const { x, y } = asTensors(data.rows, data.labels);
      const report = retrievalMetrics({ queries: x, queryLabels: y, clustering: false, rhoOffset: 1 });
      close(report.pi_ratio!, referencePiRatio(rounded(x), data.labels), 1e-4, 'pi_ratio');
      close(report.rho_spectrum!, referenceRhoSpectrum(rounded(x)), 1e-4, 'rho_spectrum');
      const skipFirst = retrievalMetrics({ queries: x, queryLabels: y, clustering: false, rhoOffset: 2 });
      close(skipFirst.rho_spectrum!, referenceRhoSpectrum(rounded(x), 2), 1e-4, 'rho_spectrum@2');
    });
  });
});

describe('clustering metrics', () => {
  it('NMI and pair F1 match dense references on given assignments', () => {
    const labels = [0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 5, 5];
    const clusters = [3, 3, 1, 1, 1, 1, 0, 0, 2, 2, 2, 3];
    close(normalizedMutualInformation(labels, clusters), referenceNmi(labels, clusters), 1e-12, 'nmi');
    close(pairF1(labels, clusters), referencePairF1(labels, clusters), 1e-12, 'f1');
    assert.equal(normalizedMutualInformation(labels, labels), 1);
    assert.equal(pairF1(labels, labels), 1);
  });

  it('k-means recovers well-separated clusters exactly', () => {
    tidy(() => {
      const data = clusteredEmbeddings(3, 5, 10, 8, 0.02);
      const { x, y } = asTensors(data.rows, data.labels);
      const report = retrievalMetrics({ queries: x, queryLabels: y, embeddingSpace: false });
      assert.equal(report.nmi, 1);
      assert.equal(report.f1, 1);
    });
  });

  it('NMI and F1 lie within the spread of reference k-means runs over seeds', () => {
    tidy(() => {
      const data = clusteredEmbeddings(21, 8, 10, 6, 0.5);
      const { x, y } = asTensors(data.rows, data.labels);
      const rows = rounded(x);
      const nmis: number[] = [];
      const f1s: number[] = [];
      for (let seed = 0; seed < 12; seed++) {
        const assignment = referenceKmeans(rows, 8, seed);
        nmis.push(referenceNmi(data.labels, assignment));
        f1s.push(referencePairF1(data.labels, assignment));
      }
      const slack = 0.02;
      for (let seed = 0; seed < 4; seed++) {
        const report = retrievalMetrics({ queries: x, queryLabels: y, embeddingSpace: false, clustering: { seed, maxIterations: 100 } });
        assert.ok(report.nmi! >= Math.min(...nmis) - slack && report.nmi! <= Math.max(...nmis) + slack, `nmi ${report.nmi} outside [${Math.min(...nmis)}, ${Math.max(...nmis)}]`);
        assert.ok(report.f1! >= Math.min(...f1s) - slack && report.f1! <= Math.max(...f1s) + slack, `f1 ${report.f1} outside [${Math.min(...f1s)}, ${Math.max(...f1s)}]`);
      }
    });
  });

  it('k-means is reproducible for a seed and stops when assignments settle', () => {
    tidy(() => {
      const data = clusteredEmbeddings(8, 6, 8, 4, 0.3);
      const { x } = asTensors(data.rows.map(normalize), data.labels);
      const a = kmeans(x, 6, { seed: 3, maxIterations: 100 });
      const b = kmeans(x, 6, { seed: 3, maxIterations: 100 });
      assert.deepEqual(a.assignments, b.assignments);
      assert.ok(a.iterations < 100);
      assert.equal(new Set(a.assignments).size <= 6, true);
    });
  });
});

describe('metric memory', () => {
  it('leaves no tensor alive', () => {
    const data = clusteredEmbeddings(2, 4, 6, 5, 0.3);
    const { x, y } = asTensors(data.rows, data.labels);
    const before = liveTensors();
    retrievalMetrics({ queries: x, queryLabels: y, chunkSize: 5 });
    const split = [x.narrow(0, 0, 10), y.narrow(0, 0, 10), x.narrow(0, 10, 14), y.narrow(0, 10, 14)] as const;
    retrievalMetrics({ queries: split[0], queryLabels: split[1], gallery: split[2], galleryLabels: split[3] });
    nearestNeighbours(x, { k: 2 });
    assert.equal(liveTensors(), before + split.length);
    for (const t of split) t.dispose();
    x.dispose();
    y.dispose();
  });
});
