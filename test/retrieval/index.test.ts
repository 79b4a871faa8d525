// Gallery indexes end to end on a small real gallery: the build writes what embed would compute,
// items with their labels and file hashes; exact search agrees with a brute-force loop; an
// interrupted build continues from its last chunk; add extends the index and its graph; another
// model's embeddings are refused by hash.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { embedFolder } from '../../src/evaluate/index.js';
import { loadModelFile, readIndexManifest, readIndexItems } from '../../src/formats/index.js';
import { addToIndex, buildIndex, IndexError, IndexInterrupted, openIndex, type GalleryIndex } from '../../src/retrieval/index.js';
import { DIM, tempDir, writeGallery, writeTestModel } from './fixture.js';

/** Brute force: every gallery row's dot product with the query, sorted. */
function bruteForce(rows: Float32Array, query: Float32Array, k: number): { id: number; score: number }[] {
  const n = rows.length / DIM;
  const all = Array.from({ length: n }, (_, id) => {
    let s = 0;
    for (let d = 0; d < DIM; d++) s += rows[id * DIM + d]! * query[d]!;
    return { id, score: s };
  });
  return all.sort((a, b) => b.score - a.score).slice(0, k);
}

describe('gallery index', () => {
  const dir = tempDir('index');
  const images = join(dir, 'images');
  const more = join(dir, 'more');
  const model = join(dir, 'model.safetensors');
  let paths: string[];
  let expected: Float32Array;

  before(async () => {
    paths = await writeGallery(images, ['cat', 'dog'], 20);
    await writeGallery(more, ['fox'], 6, 500);
    writeTestModel(model);
    const loaded = loadModelFile(model);
    expected = (await embedFolder(loaded, images)).rows;
    loaded.model.dispose();
  });

  let index: GalleryIndex;
  after(async () => {
    await index?.close();
  });

  it('holds what embed computes, with each item its path, label and file hash', async () => {
    const out = join(dir, 'idx');
    const manifest = await buildIndex({ images }, { model, out, chunkRows: 16, batchSize: 8 });
    assert.equal(manifest.state, 'ready');
    assert.equal(manifest.count, 40);
    assert.deepEqual(manifest.chunks.map((c) => c.rows), [16, 16, 8]);
    assert.equal(manifest.model.sha256, createHash('sha256').update(readFileSync(model)).digest('hex'));
    const items = readIndexItems(out);
    assert.deepEqual(items.map((i) => i.path), paths);
    assert.deepEqual(items.map((i) => i.label), [...Array(20).fill('cat'), ...Array(20).fill('dog')]);
    assert.equal(items[7]!.sha256, createHash('sha256').update(readFileSync(join(images, paths[7]!))).digest('hex'));
    index = openIndex(out);
    const queries = await index.embedQueries(paths.slice(0, 3).map((p) => join(images, p)));
    // Query images go through the same decoding as the gallery: the same embeddings.
    queries.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-5, `query value ${i}: ${v} vs ${expected[i]}`));
  });

  it('ranks exactly as a brute-force loop, scores being cosines', async () => {
    const query = expected.slice(11 * DIM, 12 * DIM);
    const [found] = await index.search(query, 7);
    const truth = bruteForce(expected, query, 7);
    assert.deepEqual(found!.map((n) => n.id), truth.map((t) => t.id));
    found!.forEach((n, i) => assert.ok(Math.abs(n.score - truth[i]!.score) < 1e-5));
    assert.equal(found![0]!.id, 11);
    assert.ok(Math.abs(found![0]!.score - 1) < 1e-5);
    assert.equal(found![0]!.label, 'cat');
    assert.equal(found![0]!.item.path, paths[11]);
    // Several queries at once (rows), and as nested arrays.
    const two = await index.search([Array.from(expected.slice(0, DIM)), Array.from(expected.slice(39 * DIM))], 2);
    assert.deepEqual(two.map((q) => q[0]!.id), [0, 39]);
    await assert.rejects(index.search(query, 0), /k must be a whole number from 1 to 1000, got 0/);
    await assert.rejects(index.search(new Float32Array(DIM + 1), 3), /not rows of 16/);
    await assert.rejects(index.search([join(dir, 'missing.png')], 3), /query image not found/);
  });

  it('continues an interrupted build from its last finished chunk, to the same index', async () => {
    const out = join(dir, 'resumed');
    const controller = new AbortController();
    await assert.rejects(
      buildIndex({ images }, { model, out, chunkRows: 16, signal: controller.signal, onProgress: (done) => done >= 16 && controller.abort() }),
      (err: unknown) => err instanceof IndexInterrupted && /stopped after 16 of 40 items/.test(err.message),
    );
    const partial = readIndexManifest(out);
    assert.equal(partial.state, 'building');
    assert.equal(partial.count, 16);
    const firstChunk = statSync(join(out, partial.chunks[0]!.file));
    assert.throws(() => openIndex(out), /not finished \(16 items embedded\)/);
    const seen: number[] = [];
    await buildIndex({ images }, { model, out, chunkRows: 16, onProgress: (done) => seen.push(done) });
    assert.equal(seen[0], 16, 'the second run starts where the first stopped');
    assert.equal(statSync(join(out, partial.chunks[0]!.file)).mtimeMs, firstChunk.mtimeMs, 'the finished chunk is not embedded again');
    const resumed = openIndex(out);
    try {
      const rows = await resumed.embedQueries(new Float32Array(0));
      assert.equal(rows.length, 0);
      const [a] = await resumed.search(expected.slice(30 * DIM, 31 * DIM), 5);
      const [b] = await index.search(expected.slice(30 * DIM, 31 * DIM), 5);
      assert.deepEqual(a, b);
    } finally {
      await resumed.close();
    }
    // A finished index is not built over.
    await assert.rejects(buildIndex({ images }, { model, out }), /already holds an index of 40 items/);
  });

  it('adds images with its own model and its HNSW graph grows with them', async () => {
    const out = join(dir, 'graph');
    await buildIndex({ images }, { model, out, ann: 'hnsw', chunkRows: 64 });
    const manifest = await addToIndex(out, { images: more });
    assert.equal(manifest.count, 46);
    assert.equal(manifest.ann?.items, 46);
    assert.equal(manifest.sources.length, 2);
    const grown = openIndex(out);
    try {
      assert.equal(grown.hasGraph, true);
      const [found] = await grown.search([join(more, 'fox/003.png')], 3);
      assert.equal(found![0]!.id, 43, 'ids continue after the first source');
      assert.equal(found![0]!.label, 'fox');
      assert.equal(found![0]!.item.source, 1);
      const image = await grown.itemImage(43);
      assert.equal(image.contentType, 'image/png');
      assert.deepEqual(image.bytes, readFileSync(join(more, 'fox/003.png')));
      // Graph and exact search agree on this small gallery.
      const query = expected.slice(5 * DIM, 6 * DIM);
      const [approx] = await grown.search(query, 5);
      const [exact] = await grown.search(query, 5, { exact: true });
      assert.deepEqual(approx!.map((n) => n.id), exact!.map((n) => n.id));
      approx!.forEach((n, i) => assert.ok(Math.abs(n.score - exact![i]!.score) < 1e-4));
    } finally {
      await grown.close();
    }
  });

  it("refuses another model's embeddings, naming both hashes", async () => {
    const other = writeTestModel(join(dir, 'other.safetensors'), 9);
    const hash = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
    await assert.rejects(addToIndex(join(dir, 'idx'), { images: more }, { model: other }), (err: unknown) => {
      assert.ok(err instanceof IndexError);
      assert.ok(err.message.includes(hash(model)) && err.message.includes(hash(other)), err.message);
      return true;
    });
    assert.equal(readIndexManifest(join(dir, 'idx')).count, 40, 'nothing was added');
  });
});
