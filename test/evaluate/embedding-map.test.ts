// 2-D embedding maps: seeded subsampling (class shares kept), reproducible UMAP layouts, and
// clusters that are far apart in the embedding staying apart on the map.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Random } from '../../src/data/random.js';
import { embeddingMap, subsampleIndices, type MapPoint } from '../../src/evaluate/embedding-map.js';

/** k Gaussian blobs in `dim` dims, centres `gap` apart along separate axes, unit noise. */
function blobs(perClass: number, classes: number, dim: number, gap: number, seed: number) {
  const rng = new Random(seed, 'blobs');
  const n = perClass * classes;
  const embeddings = new Float32Array(n * dim);
  const labels = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    labels[i] = BigInt(c);
    for (let j = 0; j < dim; j++) embeddings[i * dim + j] = (j === c ? gap : 0) + rng.uniform(-1, 1);
  }
  return { embeddings, dim, labels };
}

/** Share of points whose k nearest neighbours on the map all have the point's own label. */
function neighbourPurity(points: readonly MapPoint[], k: number): number {
  let pure = 0;
  for (const p of points) {
    const nearest = points
      .filter((q) => q !== p)
      .map((q) => ({ q, d: (q.x - p.x) ** 2 + (q.y - p.y) ** 2 }))
      .sort((a, b) => a.d - b.d)
      .slice(0, k);
    if (nearest.every(({ q }) => q.label === p.label)) pure++;
  }
  return pure / points.length;
}

describe('subsampling', () => {
  const labels = Array.from({ length: 1000 }, (_, i) => (i < 700 ? 0 : i < 900 ? 1 : 2));

  it('keeps each class share exactly when stratified', () => {
    const rows = subsampleIndices(labels, 100, 'stratified', new Random(1));
    assert.equal(rows.length, 100);
    const counts = [0, 0, 0];
    for (const r of rows) counts[labels[r]!]!++;
    assert.deepEqual(counts, [70, 20, 10]);
    assert.ok(rows.every((r, i) => i === 0 || r > rows[i - 1]!), 'ascending and distinct');
  });

  it('allots remainders so the total is exact', () => {
    const three = [0, 0, 0, 1, 1, 1, 2, 2, 2, 2];
    const rows = subsampleIndices(three, 5, 'stratified', new Random(2));
    assert.equal(rows.length, 5);
    assert.ok(new Set(Array.from(rows, (r) => three[r])).size === 3, 'every class is represented');
  });

  it('draws distinct rows uniformly, depending on the seed', () => {
    const a = subsampleIndices(labels, 50, 'uniform', new Random(3));
    assert.equal(new Set(a).size, 50);
    assert.deepEqual(a, subsampleIndices(labels, 50, 'uniform', new Random(3)));
    assert.notDeepEqual(a, subsampleIndices(labels, 50, 'uniform', new Random(4)));
    assert.equal(subsampleIndices(labels.slice(0, 20), 50, 'uniform', new Random(3)).length, 20, 'small inputs are kept whole');
  });
});

describe('embedding map', () => {
  const data = blobs(60, 4, 16, 12, 1);

  it('gives the same map for the same seed and a different one for another seed', () => {
    const options = { seed: 7, maxPoints: 120, nEpochs: 100 };
    const a = embeddingMap(data, options);
    assert.deepEqual(a, embeddingMap(data, options));
    const b = embeddingMap(data, { ...options, seed: 8 });
    assert.notDeepEqual(a.map((p) => [p.x, p.y]), b.map((p) => [p.x, p.y]));
    assert.equal(a.length, 120);
    for (const p of a) assert.equal(p.label, Number(data.labels[p.index]), 'labels follow their rows');
  });

  it('keeps well-separated clusters separated', () => {
    const points = embeddingMap(data, { seed: 3, nEpochs: 200 });
    assert.equal(points.length, 240);
    assert.ok(neighbourPurity(points, 5) > 0.97, `neighbour purity ${neighbourPurity(points, 5)}`);
    const centre = (c: number) => {
      const own = points.filter((p) => p.label === c);
      return { x: own.reduce((s, p) => s + p.x, 0) / own.length, y: own.reduce((s, p) => s + p.y, 0) / own.length, own };
    };
    const centres = [0, 1, 2, 3].map(centre);
    const radius = Math.max(...centres.map((c) => c.own.reduce((s, p) => s + Math.hypot(p.x - c.x, p.y - c.y), 0) / c.own.length));
    for (let a = 0; a < 4; a++)
      for (let b = a + 1; b < 4; b++) {
        const gap = Math.hypot(centres[a]!.x - centres[b]!.x, centres[a]!.y - centres[b]!.y);
        assert.ok(gap > 2 * radius, `classes ${a} and ${b}: centres ${gap} apart, mean radius up to ${radius}`);
      }
  });

  it('rejects inconsistent inputs', () => {
    assert.throws(() => embeddingMap({ embeddings: new Float32Array(10), dim: 3, labels: [0, 1, 2] }, { seed: 1 }), /not 3 labels x 3 dims/);
    assert.throws(() => embeddingMap({ embeddings: new Float32Array(4), dim: 2, labels: [0, 1] }, { seed: 1 }), /at least 3/);
  });
});
