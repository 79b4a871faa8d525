// Where the service's model runs. In its worker thread, the HTTP side keeps answering while a
// batch is in the model (/metrics shows mdprop_inference_running 1 mid-batch); on the HTTP thread
// it never can. Both places give the same answers; a worker that stops is replaced, and one that
// cannot load says why.
import assert from 'node:assert/strict';
import { renameSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { writeModelFile } from '../../src/formats/index.js';
import { createModel } from '../../src/nn/index.js';
import { buildIndex, IndexError, openIndex, type GalleryIndex } from '../../src/retrieval/index.js';
import { startServer, WorkerInference, type InferencePlace } from '../../src/serve/index.js';
import * as T from '../../src/torch/index.js';
import { tempDir, writeGallery } from '../retrieval/fixture.js';
import { buildServeFixture, type ServeFixture } from './fixture.js';

type Neighbours = { id: number; score: number }[];

async function search(url: string, png: Buffer, k = 5): Promise<{ status: number; neighbours: Neighbours }> {
  const res = await fetch(`${url}/v1/search?k=${k}`, { method: 'POST', body: new Uint8Array(png), headers: { 'content-type': 'image/png' } });
  const body = (await res.json()) as { neighbours: Neighbours };
  return { status: res.status, neighbours: body.neighbours };
}

describe('the model in a worker thread or on the HTTP thread', () => {
  let fixture: ServeFixture;
  let png: Buffer;

  before(async () => {
    fixture = await buildServeFixture('inference-place', 6);
    png = readFileSync(join(fixture.images, fixture.paths[2]!));
  });

  it('gives the same neighbours and embeddings in both places', async () => {
    const answers: { neighbours: Neighbours; embedding: number[] }[] = [];
    for (const place of ['worker', 'main'] as const) {
      const index = openIndex(fixture.index, { loadVectors: place === 'main' });
      const server = await startServer(index, { port: 0, inference: place });
      try {
        const found = await search(server.url, png);
        assert.equal(found.status, 200);
        const res = await fetch(`${server.url}/v1/embed`, { method: 'POST', body: new Uint8Array(png), headers: { 'content-type': 'image/png' } });
        answers.push({ neighbours: found.neighbours, embedding: ((await res.json()) as { embedding: number[] }).embedding });
      } finally {
        await server.close();
        await index.close();
      }
    }
    const [worker, main] = answers as [(typeof answers)[0], (typeof answers)[0]];
    assert.deepEqual(worker.neighbours.map((n) => n.id), main.neighbours.map((n) => n.id));
    assert.equal(worker.neighbours[0]!.id, 2, 'a gallery image finds itself first');
    worker.embedding.forEach((v, i) => assert.ok(Math.abs(v - main.embedding[i]!) < 1e-5, `embedding value ${i}: ${v} vs ${main.embedding[i]}`));
  });

  it('searches an HNSW graph in its worker (usearch loads in a worker thread)', async () => {
    const out = join(tempDir('inference-place-hnsw'), 'index');
    await buildIndex({ images: fixture.images }, { model: fixture.model, out, ann: 'hnsw' });
    const index = openIndex(out, { loadVectors: false });
    const server = await startServer(index, { port: 0 });
    try {
      assert.equal(index.info().search, 'hnsw');
      const found = await search(server.url, png, 3);
      assert.equal(found.status, 200);
      assert.equal(found.neighbours[0]!.id, 2);
    } finally {
      await server.close();
      await index.close();
    }
  });

  it('replaces a worker that stopped: the next batch starts a new one', async () => {
    const index = openIndex(fixture.index, { loadVectors: false });
    const server = await startServer(index, { port: 0 });
    try {
      const inference = server.service.inference;
      assert.ok(inference instanceof WorkerInference);
      const first = inference.thread;
      assert.ok(first !== null);
      await first.terminate();
      assert.equal(inference.thread, null, 'the stopped worker is let go');
      const again = await search(server.url, png);
      assert.equal(again.status, 200);
      assert.equal(again.neighbours[0]!.id, 2);
      assert.ok(inference.thread !== null && inference.thread !== first, 'a new worker serves');
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(metrics, /^mdprop_inference_worker_restarts_total 1$/m);
    } finally {
      await server.close();
      await index.close();
    }
  });

  it('refuses to start when the worker cannot load the model, naming the file', async () => {
    const dir = tempDir('inference-place-moved');
    const moved = join(dir, 'elsewhere.safetensors');
    renameSync(fixture.model, moved);
    const index = openIndex(fixture.index, { loadVectors: false });
    try {
      await assert.rejects(startServer(index, { port: 0 }), (err: Error) => err instanceof IndexError && /is not there any more/.test(err.message) && err.message.includes(fixture.model));
    } finally {
      renameSync(moved, fixture.model);
      await index.close();
    }
  });
});

describe('the HTTP side while a batch is in the model', () => {
  let index: string;
  let png: Buffer;

  before(async () => {
    // ResNet-18 at 96x96: a batch of 8 takes long enough on a CPU for /metrics to be asked mid-batch.
    const dir = tempDir('inference-busy');
    const images = join(dir, 'images');
    const paths = await writeGallery(images, ['a', 'b'], 2);
    T.manualSeed(5);
    const model = createModel({ arch: 'resnet18', embedDim: 32, inChannels: 3 });
    const file = join(dir, 'resnet18.safetensors');
    writeModelFile(file, model, { arch: 'resnet18', embedDim: 32, inChannels: 3, imageSize: 96, testResize: 96, method: 'baseline', dataset: 'folder', epoch: 1 });
    model.dispose();
    index = join(dir, 'index');
    await buildIndex({ images }, { model: file, out: index, batchSize: 4 });
    png = readFileSync(join(images, paths[0]!));
  });

  /** Polls /metrics while 8 searches run; how many of its answers saw a batch in the model. */
  async function midBatchSightings(place: InferencePlace): Promise<{ sightings: number; polls: number }> {
    const opened: GalleryIndex = openIndex(index, { loadVectors: place === 'main' });
    const server = await startServer(opened, { port: 0, inference: place, maxBatch: 8, maxWaitMs: 200, threads: 2 });
    try {
      let searching = true;
      const searches = Promise.all(Array.from({ length: 8 }, () => search(server.url, png, 1))).finally(() => (searching = false));
      let sightings = 0;
      let polls = 0;
      while (searching) {
        const text = await (await fetch(`${server.url}/metrics`)).text();
        polls++;
        if (/^mdprop_inference_running 1$/m.test(text)) sightings++;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const answers = await searches;
      assert.ok(answers.every((a) => a.status === 200 && a.neighbours[0]!.id === 0));
      return { sightings, polls };
    } finally {
      await server.close();
      await opened.close();
    }
  }

  it('answers /metrics mid-batch when the model runs in its worker', async () => {
    const { sightings, polls } = await midBatchSightings('worker');
    assert.ok(sightings >= 1, `none of ${polls} /metrics answers came while a batch was in the model`);
  });

  it('never can when the model runs on the HTTP thread (the control)', async () => {
    const { sightings, polls } = await midBatchSightings('main');
    assert.equal(sightings, 0, `${sightings} of ${polls} /metrics answers came mid-batch`);
  });
});
