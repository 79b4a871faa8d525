// The retrieval service started for real on 127.0.0.1 (an ephemeral port) and used over HTTP:
// normal use, a bounded load test, every hostile input answered with its 4xx while the service
// keeps serving, memory that stays flat under repeated hostile requests, the token, a full queue.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openIndex, type GalleryIndex } from '../../src/retrieval/index.js';
import { startServer, type RunningServer } from '../../src/serve/index.js';
import { DIM } from '../retrieval/fixture.js';
import { buildServeFixture, hostileInputs, TEST_MAX_BODY, TEST_MAX_PIXELS, type ServeFixture } from './fixture.js';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function post(url: string, body: Buffer | string | FormData, contentType?: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(url, { method: 'POST', body: bodyOf(body), headers: contentType ? { 'content-type': contentType, ...headers } : headers });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as Record<string, unknown> };
}

/** fetch's body type wants a Uint8Array over a plain ArrayBuffer. */
export function bodyOf(body: Buffer | string | FormData): Uint8Array<ArrayBuffer> | string | FormData {
  return Buffer.isBuffer(body) ? new Uint8Array(body) : body;
}

type Neighbours = { id: number; label: string | null; score: number; item: { path: string } }[];

describe('retrieval service over HTTP', () => {
  let fixture: ServeFixture;
  let index: GalleryIndex;
  let server: RunningServer;
  let png: Buffer;

  before(async () => {
    fixture = await buildServeFixture('service');
    index = openIndex(fixture.index, { maxPixels: TEST_MAX_PIXELS });
    server = await startServer(index, { port: 0, maxBatch: 16, maxWaitMs: 5, maxBodyBytes: TEST_MAX_BODY, maxPixels: TEST_MAX_PIXELS });
    png = readFileSync(join(fixture.images, fixture.paths[5]!));
  });
  after(async () => {
    await server?.close();
    await index?.close();
  });

  it('listens on 127.0.0.1 and answers a search with neighbours, best first', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const { status, body } = await post(`${server.url}/v1/search?k=4`, png, 'image/png');
    assert.equal(status, 200, JSON.stringify(body));
    const neighbours = body.neighbours as Neighbours;
    assert.equal(neighbours.length, 4);
    assert.equal(neighbours[0]!.id, 5, 'a gallery image finds itself first');
    assert.ok(Math.abs(neighbours[0]!.score - 1) < 1e-5);
    assert.equal(neighbours[0]!.label, 'cat');
    assert.equal(neighbours[0]!.item.path, fixture.paths[5]);
    for (let i = 1; i < 4; i++) assert.ok(neighbours[i - 1]!.score >= neighbours[i]!.score, 'best first');
    // The same as the library's search of the same file.
    const [direct] = await index.search([join(fixture.images, fixture.paths[5]!)], 4);
    assert.deepEqual(neighbours.map((n) => n.id), direct!.map((n) => n.id));
    // k defaults to 10.
    assert.equal(((await post(`${server.url}/v1/search`, png, 'image/png')).body.neighbours as Neighbours).length, 10);
  });

  it("takes the image as the multipart field 'image', and refuses another field", async () => {
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'q.png');
    const { status, body } = await post(`${server.url}/v1/search?k=2`, form);
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal((body.neighbours as Neighbours)[0]!.id, 5);
    const wrong = new FormData();
    wrong.append('picture', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'q.png');
    const refused = await post(`${server.url}/v1/search`, wrong);
    assert.equal(refused.status, 400);
    assert.match(String(refused.body.error), /field 'picture'.*field 'image'/);
  });

  it('embeds, serves gallery images, reports health and metrics', async () => {
    const { status, body } = await post(`${server.url}/v1/embed`, png, 'image/png');
    assert.equal(status, 200);
    const embedding = body.embedding as number[];
    assert.equal(embedding.length, DIM);
    const expected = await index.embedQueries([join(fixture.images, fixture.paths[5]!)]);
    embedding.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-5));
    const image = await fetch(`${server.url}/v1/items/3/image`);
    assert.equal(image.status, 200);
    assert.equal(image.headers.get('content-type'), 'image/png');
    assert.deepEqual(Buffer.from(await image.arrayBuffer()), readFileSync(join(fixture.images, fixture.paths[3]!)));
    assert.equal((await fetch(`${server.url}/v1/items/9999/image`)).status, 404);
    assert.equal((await fetch(`${server.url}/v1/items/abc/image`)).status, 404);
    assert.deepEqual(await (await fetch(`${server.url}/healthz`)).json(), { status: 'ok', items: 24 });
    const page = await fetch(`${server.url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<input id="file" type="file"/);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /mdprop_http_requests_total\{method="POST",route="\/v1\/search",status="200"\} \d+/);
    assert.match(metrics, /mdprop_http_errors_total\{route="\/v1\/search",status="400"\} \d+/);
    assert.match(metrics, /mdprop_http_request_duration_seconds_bucket\{le="0.1",route="\/v1\/search"\} \d+/);
    assert.match(metrics, /mdprop_batch_size_count \d+/);
    assert.match(metrics, /process_resident_memory_bytes \d+/);
  });

  it('answers every hostile input with a 4xx naming the problem, and keeps serving', async () => {
    for (const bad of await hostileInputs(png)) {
      const res = await fetch(`${server.url}/v1/search${bad.query ?? ''}`, { method: 'POST', body: bodyOf(bad.body), headers: { 'content-type': bad.contentType } });
      const body = (await res.json()) as { error: string; statusCode: number };
      assert.equal(res.status, bad.status, `${bad.name}: ${res.status} ${body.error}`);
      assert.equal(body.statusCode, bad.status);
      assert.match(body.error, bad.message, bad.name);
      const health = await fetch(`${server.url}/healthz`);
      assert.equal(health.status, 200, `still serving after ${bad.name}`);
    }
    assert.equal((await post(`${server.url}/v1/search?k=1`, png, 'image/png')).status, 200);
  });

  it('holds its memory under repeated hostile requests', async () => {
    const inputs = await hostileInputs(png);
    const round = async () => {
      for (const bad of inputs) await (await fetch(`${server.url}/v1/search${bad.query ?? ''}`, { method: 'POST', body: bodyOf(bad.body), headers: { 'content-type': bad.contentType } })).arrayBuffer();
    };
    for (let i = 0; i < 3; i++) await round(); // warm-up: allocator pools, JIT
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 15; i++) await round();
    const grown = (process.memoryUsage().rss - before) / 2 ** 20;
    // 180 requests, among them 15 bodies over 2 MiB: a leak of one body each would exceed this.
    assert.ok(grown < 48, `RSS grew by ${grown.toFixed(1)} MiB over ${15 * inputs.length} hostile requests`);
  });

  it('serves a bounded load at concurrency 32 without a failed request', async () => {
    const images = fixture.paths.map((p) => readFileSync(join(fixture.images, p)));
    const total = 320;
    let next = 0;
    const failures: string[] = [];
    const worker = async () => {
      while (next < total) {
        const i = next++;
        const res = await post(`${server.url}/v1/search?k=3`, images[i % images.length]!, 'image/png');
        const top = (res.body.neighbours as Neighbours | undefined)?.[0]?.id;
        if (res.status !== 200 || top !== i % images.length) failures.push(`request ${i}: ${res.status} top ${top}`);
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    assert.deepEqual(failures, []);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const batches = Number(/mdprop_batch_size_count (\d+)/.exec(metrics)?.[1]);
    const images_ = Number(/mdprop_batch_size_sum (\d+)/.exec(metrics)?.[1]);
    assert.ok(images_ / batches > 1.5, `concurrent requests are embedded together: ${images_} images in ${batches} batches`);
  });
});

describe('retrieval service limits', () => {
  let fixture: ServeFixture;
  let index: GalleryIndex;
  let png: Buffer;

  before(async () => {
    fixture = await buildServeFixture('service-limits', 4);
    index = openIndex(fixture.index);
    png = readFileSync(join(fixture.images, fixture.paths[0]!));
  });
  after(async () => index?.close());

  it('with a token, refuses every route but /healthz without it', async () => {
    const server = await startServer(index, { port: 0, token: 's3cret' });
    try {
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
      for (const path of ['/', '/metrics', '/v1/items/0/image']) {
        const res = await fetch(`${server.url}${path}`);
        assert.equal(res.status, 401, path);
        assert.match(((await res.json()) as { error: string }).error, /Authorization: Bearer/);
      }
      assert.equal((await post(`${server.url}/v1/search`, png, 'image/png')).status, 401);
      assert.equal((await post(`${server.url}/v1/search`, png, 'image/png', { authorization: 'Bearer wrong' })).status, 401);
      assert.equal((await post(`${server.url}/v1/search`, png, 'image/png', { authorization: 'Bearer s3cret' })).status, 200);
      assert.equal((await fetch(`${server.url}/v1/items/0/image?token=s3cret`)).status, 200, 'the page sends it in the query of a GET');
      assert.equal((await fetch(`${server.url}/?token=s3cret`)).status, 200);
    } finally {
      await server.close();
    }
  });

  it('answers 503 when the queue is full, and serves the requests it took', async () => {
    const server = await startServer(index, { port: 0, maxBatch: 64, maxWaitMs: 1500, maxQueue: 2 });
    try {
      const answers = await Promise.all([1, 2, 3, 4].map(() => post(`${server.url}/v1/search?k=1`, png, 'image/png')));
      const statuses = answers.map((a) => a.status).sort();
      assert.deepEqual(statuses, [200, 200, 503, 503]);
      assert.match(String(answers.find((a) => a.status === 503)!.body.error), /queue is full \(2 requests waiting\)/);
    } finally {
      await server.close();
    }
  });
});
