// The retrieval service over an opened index, on fastify:
//   POST /v1/search?k=10   an image (raw body with its image content type, or multipart field
//                          `image`) -> {"neighbours": [{id, label, score, item, image}]}, best first
//   POST /v1/embed         the same input -> {"embedding": [...], "dim"}
//   GET  /v1/items/:id/image   a gallery image
//   GET  /healthz, GET /metrics (Prometheus text), GET / (the web page)
// Bounded by design: body size, pixels (from the header, before decoding), time in the queue,
// queue length (503 when full). Every refused input is a 4xx JSON {"error", "statusCode"} and the
// service goes on. With a token, every route but /healthz requires it.
import { timingSafeEqual } from 'node:crypto';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { decodeQueryImage, DEFAULT_MAX_QUERY_PIXELS, IndexError, MAX_K, QueryImageError, type GalleryIndex } from '../retrieval/index.js';
import { DynamicBatcher, QueueFull, QueueTimeout } from './batcher.js';
import { startInference, type Inference, type InferenceJob, type InferencePlace, type InferenceResult } from './inference.js';
import { ServiceMetrics } from './metrics.js';
import { searchPage } from './page.js';

export interface ServeOptions {
  host?: string;
  /** 0: any free port. */
  port?: number;
  /** Images per forward pass at most (1: no batching). */
  maxBatch?: number;
  /** How long the first request of a batch waits for others. */
  maxWaitMs?: number;
  /** Requests waiting for a batch at most; more get 503. */
  maxQueue?: number;
  /** Required as `Authorization: Bearer <token>` (or `?token=` on GET) by every route but /healthz. */
  token?: string;
  /** Largest request body in bytes. */
  maxBodyBytes?: number;
  /** Largest query image in pixels, refused from its header. */
  maxPixels?: number;
  /** Longest a request may take to arrive, and to wait for the model. */
  requestTimeoutMs?: number;
  /** Where the model runs: a worker thread (default), or the HTTP thread. */
  inference?: InferencePlace;
  /** libtorch threads of the forward pass (default: libtorch's own, the number of cores). */
  threads?: number;
}

export const SERVE_DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  maxBatch: 16,
  maxWaitMs: 50,
  maxQueue: 256,
  maxBodyBytes: 10 * 1024 * 1024,
  maxPixels: 25_000_000,
  requestTimeoutMs: 30_000,
  inference: 'worker',
} as const;

const IMAGE_INPUT = "send an image body (image/png, image/jpeg, ...) or multipart/form-data with the field 'image'";

/** An HTTP error with its status, answered as JSON naming the problem. */
class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface RetrievalService {
  app: FastifyInstance;
  metrics: ServiceMetrics;
  /** Where the model runs (a WorkerInference unless `inference: 'main'`). */
  inference: Inference;
  /** Resolves once nothing waits for the model. */
  drain(): Promise<void>;
  /** Stops accepting, finishes the requests in flight (their connections then close), then resolves. */
  close(): Promise<void>;
}

/** The fastify app of the service (not listening yet). */
export async function createService(index: GalleryIndex, options: ServeOptions = {}): Promise<RetrievalService> {
  const o = { ...SERVE_DEFAULTS, ...options };
  // The model is loaded (in its worker) before the first request.
  const inference = await startInference(index, { place: o.inference, threads: o.threads, onRestart: () => metrics.workerRestarts.inc() });
  const maxPixels = options.maxPixels ?? index.options.maxPixels ?? DEFAULT_MAX_QUERY_PIXELS;
  const batcher = new DynamicBatcher<InferenceJob, InferenceResult>(
    async (jobs) => {
      // With the worker, /metrics can see a batch in the model; on the HTTP thread it never can.
      const stopTimer = metrics.inferenceSeconds.startTimer();
      metrics.inferenceRunning.set(1);
      try {
        return await inference.run(jobs);
      } finally {
        metrics.inferenceRunning.set(0);
        stopTimer();
      }
    },
    { maxBatch: o.maxBatch, maxWaitMs: o.maxWaitMs, maxQueue: o.maxQueue },
    (size) => metrics.batchSize.observe(size),
  );
  const metrics = new ServiceMetrics(() => batcher.depth);
  const app = Fastify({ bodyLimit: o.maxBodyBytes, requestTimeout: o.requestTimeoutMs, logger: false, return503OnClosing: true });
  await app.register(multipart, { limits: { fileSize: o.maxBodyBytes, files: 1, fields: 8, parts: 16, fieldSize: 1024 } });
  app.addContentTypeParser(/^image\/[a-z0-9.+-]+$/i, { parseAs: 'buffer', bodyLimit: o.maxBodyBytes }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      void reply.status(415).send({ error: `content type '${req.headers['content-type'] ?? 'none'}' is not accepted: ${IMAGE_INPUT}`, statusCode: 415 });
      return;
    }
    const status = err instanceof HttpError ? err.statusCode : typeof err.statusCode === 'number' && err.statusCode >= 400 ? err.statusCode : 500;
    const message = status === 500 ? `internal error: ${err.message}` : err.message;
    void reply.status(status).send({ error: message, statusCode: status });
  });
  app.setNotFoundHandler((req, reply) => void reply.status(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}`, statusCode: 404 }));

  app.addHook('onRequest', async (req) => {
    if (o.token === undefined || req.url === '/healthz') return;
    if (!tokenMatches(o.token, presentedToken(req))) throw new HttpError(401, 'missing or wrong token: send the header "Authorization: Bearer <token>"');
  });
  // While closing, answers end their connection, so a keep-alive client cannot hold the close open.
  let closing = false;
  app.addHook('onSend', async (_req, reply, payload) => {
    if (closing) void reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    metrics.observe(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });

  /** The uploaded image's bytes: a raw image body or the multipart field `image`. */
  const imageBytes = async (req: FastifyRequest): Promise<Buffer> => {
    if (req.isMultipart()) {
      const file = await req.file();
      if (!file) throw new HttpError(400, "multipart body without a file: send the image in the field 'image'");
      if (file.fieldname !== 'image') throw new HttpError(400, `multipart field '${file.fieldname}': send the image in the field 'image'`);
      return file.toBuffer();
    }
    if (!Buffer.isBuffer(req.body)) {
      throw new HttpError(415, `content type '${req.headers['content-type'] ?? 'none'}' is not accepted: ${IMAGE_INPUT}`);
    }
    return req.body;
  };

  const run = async (req: FastifyRequest, k: number): Promise<InferenceResult> => {
    const bytes = await imageBytes(req);
    // While it is decoded, a batch about to run waits for it (within --max-wait-ms).
    const arrived = batcher.arrive();
    let input: Float32Array;
    try {
      input = await decodeQueryImage(bytes, inference.transform, maxPixels);
    } catch (err) {
      arrived();
      if (err instanceof QueryImageError) throw new HttpError(err.status, err.message);
      throw err;
    }
    const answer = batcher.submit({ input, k }, o.requestTimeoutMs);
    arrived();
    try {
      return await answer;
    } catch (err) {
      if (err instanceof QueueFull || err instanceof QueueTimeout) throw new HttpError(503, err.message);
      throw err;
    }
  };

  app.post('/v1/search', async (req: FastifyRequest<{ Querystring: { k?: string | string[] } }>) => {
    const k = parseK(req.query.k);
    const { neighbours } = await run(req, k);
    return { neighbours: neighbours.map((n) => ({ id: n.id, label: n.label, score: n.score, item: n.item, image: `/v1/items/${n.id}/image` })) };
  });
  app.post('/v1/embed', async (req) => {
    const { embedding } = await run(req, 0);
    return { embedding: Array.from(embedding), dim: embedding.length };
  });
  app.get('/v1/items/:id/image', async (req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const id = Number(req.params.id);
    if (!/^\d+$/.test(req.params.id) || id >= index.size) throw new HttpError(404, `no item '${req.params.id}'; ids are 0..${index.size - 1}`);
    let image: { bytes: Buffer; contentType: string };
    try {
      image = await index.itemImage(id);
    } catch (err) {
      if (err instanceof IndexError) throw new HttpError(404, err.message);
      throw err;
    }
    return reply.type(image.contentType).header('cache-control', 'private, max-age=3600').header('x-content-type-options', 'nosniff').send(image.bytes);
  });
  app.get('/healthz', async () => ({ status: 'ok', items: index.size }));
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  app.get('/', async (_req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', "default-src 'none'; img-src 'self' blob: data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'")
      .send(searchPage({ items: index.size, title: 'mdprop search' })),
  );
  return {
    app,
    metrics,
    inference,
    drain: () => batcher.drain(),
    async close() {
      closing = true;
      await app.close();
      await batcher.drain();
      await inference.close();
    },
  };
}

function parseK(value: string | string[] | undefined): number {
  if (value === undefined) return 10;
  const text = Array.isArray(value) ? value[0] ?? '' : value;
  const k = Number(text);
  if (!/^\d+$/.test(text) || k < 1 || k > MAX_K) throw new HttpError(400, `k must be a whole number from 1 to ${MAX_K}, got '${text.slice(0, 40)}'`);
  return k;
}

function presentedToken(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7);
  // The page's <img> and address bar cannot send headers: a GET may carry it in the query.
  if (req.method === 'GET') {
    const token = (req.query as Record<string, unknown> | undefined)?.token;
    if (typeof token === 'string') return token;
  }
  return undefined;
}

function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  port: number;
  service: RetrievalService;
  /** Stops accepting, finishes the requests in flight, then resolves. */
  close(): Promise<void>;
}

/** Creates the service and listens (127.0.0.1:8080 unless told otherwise). */
export async function startServer(index: GalleryIndex, options: ServeOptions = {}): Promise<RunningServer> {
  const service = await createService(index, options);
  const host = options.host ?? SERVE_DEFAULTS.host;
  await service.app.listen({ host, port: options.port ?? SERVE_DEFAULTS.port });
  const address = service.app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? SERVE_DEFAULTS.port);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    service,
    close: () => service.close(),
  };
}
