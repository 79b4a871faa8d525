// Where the service's model and search run. By default in a worker thread that opens the same
// index, so a forward pass (a second or more for a large model on a CPU) never blocks the HTTP
// thread: uploads keep arriving and being decoded, and /healthz and /metrics keep answering, while
// a batch runs. `inference: 'main'` runs them on the HTTP thread instead (one copy of the model
// and embeddings fewer; a batch then holds every request up until it ends).
import { Worker } from 'node:worker_threads';
import type { TestTransform } from '../data/index.js';
import { IndexError, inputShapeOf, stackInputs, type Embedder, type GalleryIndex, type Neighbour, type RankedRows } from '../retrieval/index.js';
import { setNumThreads } from '../torch/index.js';

export type InferencePlace = 'worker' | 'main';

export interface InferenceJob {
  /** A decoded query image (CHW, as the model's transform makes it). */
  input: Float32Array;
  /** Neighbours wanted; 0 for an embedding only. */
  k: number;
}

export interface InferenceResult {
  embedding: Float32Array;
  neighbours: Neighbour[];
}

export interface Inference {
  /** The model's test transform: how an upload becomes an input. */
  readonly transform: TestTransform;
  /** One forward pass for the jobs, and one search for those that search; results in job order. */
  run(jobs: readonly InferenceJob[]): Promise<InferenceResult[]>;
  close(): Promise<void>;
}

/** A batch's embeddings [n, D], and the ranked rows of its searching jobs, in job order. */
export interface BatchOutput {
  embeddings: Float32Array;
  ranked: RankedRows | null;
}

/** The forward pass of a stacked batch, then one search at the largest k asked. */
export function inferBatch(index: GalleryIndex, embedder: Embedder, batch: Float32Array, ks: readonly number[]): BatchOutput {
  const d = index.dim;
  const embeddings = embedder.embedBatch(batch);
  const searched = ks.flatMap((k, i) => (k > 0 ? [i] : []));
  if (searched.length === 0) return { embeddings, ranked: null };
  const rows = new Float32Array(searched.length * d);
  searched.forEach((i, n) => rows.set(embeddings.subarray(i * d, (i + 1) * d), n * d));
  return { embeddings, ranked: index.rank(rows, Math.max(...searched.map((i) => ks[i]!))) };
}

/** Each job's embedding and its k best neighbours, from a batch's output. */
export function resultsOf(index: GalleryIndex, output: BatchOutput, ks: readonly number[]): InferenceResult[] {
  const d = index.dim;
  const searchedCount = ks.filter((k) => k > 0).length;
  const found = output.ranked ? index.describe(output.ranked, searchedCount) : [];
  let next = 0;
  return ks.map((k, i) => ({
    embedding: output.embeddings.slice(i * d, (i + 1) * d),
    neighbours: k > 0 ? found[next++]!.slice(0, k) : [],
  }));
}

export interface InferenceOptions {
  place?: InferencePlace;
  /** libtorch threads of the forward pass (default: libtorch's own). */
  threads?: number;
  /** Called when a worker that stopped has been replaced. */
  onRestart?: () => void;
}

/** Loads the model (and, in a worker, the index) and resolves once a batch can run. */
export async function startInference(index: GalleryIndex, options: InferenceOptions = {}): Promise<Inference> {
  if ((options.place ?? 'worker') === 'main') {
    if (options.threads !== undefined) setNumThreads(options.threads);
    const embedder = await index.embedder();
    return {
      transform: embedder.transform,
      run: async (jobs) => {
        const ks = jobs.map((j) => j.k);
        return resultsOf(index, inferBatch(index, embedder, stackInputs(jobs.map((j) => j.input), embedder.inputShape), ks), ks);
      },
      close: async () => {},
    };
  }
  return WorkerInference.start(index, options.threads, options.onRestart);
}

/** What the worker is given (workerData). */
export interface WorkerInit {
  dir: string;
  options: { model?: string; device?: string };
  threads?: number;
}

/** Messages between the service and its worker. */
export type ToWorker = { kind: 'batch'; id: number; batch: Float32Array; ks: number[] } | { kind: 'close' };
export type FromWorker =
  | { kind: 'ready'; transform: TestTransform }
  | { kind: 'failed'; name: string; message: string }
  | { kind: 'done'; id: number; output: BatchOutput }
  | { kind: 'error'; id: number; message: string };

interface Pending {
  ks: number[];
  resolve: (results: InferenceResult[]) => void;
  reject: (err: Error) => void;
}

const WORKER_FILE = new URL('./inference-worker.js', import.meta.url);

interface LoadedWorker {
  worker: Worker;
  transform: TestTransform;
}

/** Starts a worker and waits until it has the index and the model (or says why not). */
async function loadWorker(init: WorkerInit): Promise<LoadedWorker> {
  const worker = new Worker(WORKER_FILE, { workerData: init });
  const ready = await new Promise<Extract<FromWorker, { kind: 'ready' }>>((resolve, reject) => {
    const onExit = (code: number) => reject(new Error(`the inference worker stopped while loading (exit code ${code})`));
    worker.once('error', reject);
    worker.once('exit', onExit);
    worker.once('message', (m: FromWorker) => {
      worker.off('error', reject);
      worker.off('exit', onExit);
      if (m.kind === 'ready') resolve(m);
      else if (m.kind === 'failed') reject(m.name === 'IndexError' ? new IndexError(m.message) : new Error(m.message));
      else reject(new Error(`the inference worker said '${m.kind}' before it was ready`));
    });
  }).catch(async (err: unknown) => {
    await worker.terminate();
    throw err;
  });
  return { worker, transform: ready.transform };
}

/** The model in a worker thread; a worker that stops is replaced at the next batch. */
export class WorkerInference implements Inference {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closing = false;
  private current: Worker | null;
  private replacing: Promise<Worker> | null = null;
  readonly transform: TestTransform;
  private readonly inputShape: [number, number, number];

  private constructor(
    private readonly index: GalleryIndex,
    private readonly init: WorkerInit,
    loaded: LoadedWorker,
    private readonly onRestart?: () => void,
  ) {
    this.current = loaded.worker;
    this.transform = loaded.transform;
    this.inputShape = inputShapeOf(loaded.transform);
    this.attach(loaded.worker);
  }

  static async start(index: GalleryIndex, threads: number | undefined, onRestart?: () => void): Promise<WorkerInference> {
    // Uploads are decoded on the HTTP side, so the worker needs no pixel limit.
    const { model, device } = index.options;
    const init: WorkerInit = { dir: index.dir, options: { model, device }, threads };
    return new WorkerInference(index, init, await loadWorker(init), onRestart);
  }

  /** The worker thread in use; null between a stop and its replacement. */
  get thread(): Worker | null {
    return this.current;
  }

  async run(jobs: readonly InferenceJob[]): Promise<InferenceResult[]> {
    if (this.closing) throw new Error('the service is closing');
    const worker = this.current ?? (await this.replace());
    // A new array the worker receives without a copy (transferred).
    const batch = stackInputs(jobs.map((j) => j.input), this.inputShape);
    const ks = jobs.map((j) => j.k);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { ks, resolve, reject });
      const message: ToWorker = { kind: 'batch', id, batch, ks };
      worker.postMessage(message, [batch.buffer]);
    });
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.replacing?.catch(() => null);
    const worker = this.current;
    if (worker !== null) {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      const message: ToWorker = { kind: 'close' };
      worker.postMessage(message);
      await exited;
    }
    this.fail('the service closed');
  }

  private attach(worker: Worker): void {
    worker.on('message', (m: FromWorker) => this.answer(m));
    worker.on('error', (err) => this.fail(`the inference worker failed: ${err.message}`));
    worker.on('exit', (code) => {
      if (this.closing || worker !== this.current) return;
      this.current = null;
      this.fail(`the inference worker stopped (exit code ${code})`);
    });
  }

  /** A new worker for the one that stopped (one at a time, however many batches ask). */
  private replace(): Promise<Worker> {
    this.replacing ??= loadWorker(this.init)
      .then((loaded) => {
        this.current = loaded.worker;
        this.attach(loaded.worker);
        this.onRestart?.();
        return loaded.worker;
      })
      .finally(() => (this.replacing = null));
    return this.replacing;
  }

  private answer(m: FromWorker): void {
    if (m.kind !== 'done' && m.kind !== 'error') return;
    const pending = this.pending.get(m.id);
    if (!pending) return;
    this.pending.delete(m.id);
    if (m.kind === 'error') pending.reject(new Error(m.message));
    else pending.resolve(resultsOf(this.index, m.output, pending.ks));
  }

  /** Every batch in flight is refused with `reason`. */
  private fail(reason: string): void {
    for (const p of this.pending.values()) p.reject(new Error(reason));
    this.pending.clear();
  }
}
