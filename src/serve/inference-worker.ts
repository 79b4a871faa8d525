// The service's inference worker (a worker thread): opens the service's index with its
// embeddings and model, then answers batches until told to close. Started by inference.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { openIndex, type Embedder, type GalleryIndex } from '../retrieval/index.js';
import { setNumThreads } from '../torch/index.js';
import { inferBatch, type FromWorker, type ToWorker, type WorkerInit } from './inference.js';

if (parentPort === null) throw new Error('inference-worker.js runs as a worker thread of the service');
const port = parentPort;
const send = (message: FromWorker): void => port.postMessage(message);

const init = workerData as WorkerInit;

/** The index and model, or null after telling the service why they could not be opened. */
async function open(): Promise<{ index: GalleryIndex; embedder: Embedder } | null> {
  try {
    // libtorch's thread count is per thread: the HTTP thread's setting does not reach this one.
    if (init.threads !== undefined) setNumThreads(init.threads);
    const index = openIndex(init.dir, init.options);
    return { index, embedder: await index.embedder() };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    send({ kind: 'failed', name: e.name, message: e.message });
    port.close();
    return null;
  }
}

const opened = await open();
if (opened !== null) {
  const { index, embedder } = opened;
  port.on('message', (m: ToWorker) => {
    if (m.kind === 'close') {
      void index.close().finally(() => port.close());
      return;
    }
    try {
      send({ kind: 'done', id: m.id, output: inferBatch(index, embedder, m.batch, m.ks) });
    } catch (err) {
      send({ kind: 'error', id: m.id, message: err instanceof Error ? err.message : String(err) });
    }
  });
  send({ kind: 'ready', transform: embedder.transform });
}
