// Exact search against a brute-force loop whatever the chunking; the HNSW graph's recall against
// exact search and its file round trip; the index, search commands end to end.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ExactSearch, HNSW_DEFAULTS, HnswGraph } from '../../src/retrieval/index.js';
import { runMdprop } from '../helpers/cli.js';
import { tempDir, writeGallery, writeTestModel } from './fixture.js';

/** Seeded unit rows: `clusters` centres plus noise, so neighbours are meaningful. */
function unitRows(n: number, dim: number, seed: number, clusters = 20): Float32Array {
  let s = seed >>> 0 || 1;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  const centres = Array.from({ length: clusters * dim }, rnd);
  const rows = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = i % clusters;
    let norm = 0;
    for (let d = 0; d < dim; d++) {
      const v = centres[c * dim + d]! + 0.3 * rnd();
      rows[i * dim + d] = v;
      norm += v * v;
    }
    for (let d = 0; d < dim; d++) rows[i * dim + d]! /= Math.sqrt(norm);
  }
  return rows;
}

function bruteForce(rows: Float32Array, queries: Float32Array, dim: number, k: number): number[][] {
  const n = rows.length / dim;
  return Array.from({ length: queries.length / dim }, (_, q) =>
    Array.from({ length: n }, (_, i) => {
      let s = 0;
      for (let d = 0; d < dim; d++) s += rows[i * dim + d]! * queries[q * dim + d]!;
      return { i, s };
    })
      .sort((a, b) => b.s - a.s)
      .slice(0, k)
      .map((x) => x.i),
  );
}

describe('exact search', () => {
  it('ranks as a brute-force loop, chunked or not, and caps k at the gallery size', () => {
    const dim = 12;
    const rows = unitRows(500, dim, 3);
    const queries = unitRows(6, dim, 99);
    const truth = bruteForce(rows, queries, dim, 9);
    for (const chunkRows of [7, 64, 100_000]) {
      const exact = new ExactSearch(rows, dim, chunkRows);
      const found = exact.search(queries, 9);
      assert.equal(found.k, 9);
      for (let q = 0; q < 6; q++) assert.deepEqual(Array.from(found.ids.subarray(q * 9, (q + 1) * 9)), truth[q], `chunk ${chunkRows}, query ${q}`);
      exact.dispose();
    }
    const small = new ExactSearch(rows.slice(0, 3 * dim), dim, 2);
    assert.equal(small.search(queries, 10).k, 3);
    small.append(rows.slice(3 * dim, 5 * dim));
    assert.equal(small.size, 5);
    assert.deepEqual(Array.from(small.search(rows.slice(4 * dim, 5 * dim), 1).ids), [4]);
    small.dispose();
  });
});

describe('HNSW graph (usearch)', () => {
  it('finds at least 95% of the exact top 10 on 3,000 clustered rows, and scores are cosines', () => {
    const dim = 32;
    const rows = unitRows(3000, dim, 5, 60);
    const queries = unitRows(50, dim, 77, 60);
    const exact = new ExactSearch(rows, dim);
    const graph = new HnswGraph(dim, HNSW_DEFAULTS);
    graph.add(0, rows, 1);
    assert.equal(graph.size, 3000);
    const approx = graph.search(queries, 10);
    const truth = exact.search(queries, 10);
    let hits = 0;
    for (let q = 0; q < 50; q++) {
      const want = new Set(truth.ids.subarray(q * 10, (q + 1) * 10));
      for (let j = 0; j < 10; j++) {
        const id = approx.ids[q * 10 + j]!;
        if (want.has(id)) hits++;
        let dot = 0;
        for (let d = 0; d < dim; d++) dot += rows[id * dim + d]! * queries[q * dim + d]!;
        assert.ok(Math.abs(approx.scores[q * 10 + j]! - dot) < 1e-4, `score of id ${id}: ${approx.scores[q * 10 + j]} vs cosine ${dot}`);
      }
    }
    assert.ok(hits / 500 >= 0.95, `recall@10 ${hits / 500}`);
    exact.dispose();
    // The saved graph answers the same after loading.
    const file = join(tempDir('hnsw'), 'g.usearch');
    graph.save(file);
    const loaded = HnswGraph.load(file, dim, HNSW_DEFAULTS);
    assert.equal(loaded.size, 3000);
    assert.deepEqual(loaded.search(queries, 10).ids, approx.ids);
  });
});

describe('index and search commands', () => {
  it('build, info and search a folder gallery; refuse bad flags with exit 2', async () => {
    const dir = tempDir('index-cli');
    const images = join(dir, 'images');
    const paths = await writeGallery(images, ['a', 'b'], 5);
    const model = writeTestModel(join(dir, 'model.safetensors'));
    const index = join(dir, 'idx');
    const built = await runMdprop(['index', 'build', '--model', model, '--images', images, '--out', index, '--ann', 'hnsw', '--batch-size', '4']);
    assert.equal(built.code, 0, built.stderr);
    assert.match(built.stdout, /10 items, 16-d, exact and HNSW search/);
    const info = await runMdprop(['index', 'info', index]);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /items: {3}10 \(16-d embeddings\)/);
    assert.match(info.stdout, /labels: {2}2: a \(5\), b \(5\)/);
    const search = await runMdprop(['search', '--index', index, '--image', join(images, paths[6]!), join(images, paths[1]!), '--k', '3', '--json']);
    assert.equal(search.code, 0, search.stderr);
    const parsed = JSON.parse(search.stdout) as { queries: { image: string; neighbours: { id: number; label: string; score: number }[] }[] };
    assert.deepEqual(parsed.queries.map((q) => q.neighbours[0]!.id), [6, 1]);
    assert.deepEqual(parsed.queries.map((q) => q.neighbours[0]!.label), ['b', 'a']);
    assert.equal(parsed.queries[0]!.neighbours.length, 3);
    const text = await runMdprop(['search', '--index', index, '--image', join(images, paths[0]!), '--k', '2']);
    assert.match(text.stdout, /^ {4}1\. 1\.0000 {2}a {2}id 0 {2}a\/000\.png$/m);
    for (const [args, message] of [
      [['index', 'build', '--model', model, '--images', images, '--out', join(dir, 'x'), '--ann', 'faiss'], /--ann: expected exact or hnsw, got 'faiss'/],
      [['index', 'build', '--model', model, '--out', join(dir, 'y')], /give --images DIR or --dataset D --split test/],
      [['search', '--index', index, '--image', join(dir, 'nope.png')], /--image query image not found/],
      [['search', '--index', index, '--image', join(images, paths[0]!), '--k', '0'], /--k: expected a positive integer/],
    ] as const) {
      const r = await runMdprop([...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    const notIndex = await runMdprop(['index', 'info', images]);
    assert.equal(notIndex.code, 1);
    assert.match(notIndex.stderr, /not an index: no manifest\.json/);
  });
});
