// Evaluation during training: embed the evaluation split(s) with the test transform, the model in
// eval mode on its clean BN branch (0), without gradients, then the retrieval, clustering and
// embedding-space metrics of src/dml.
import { evaluationLoader, type Dataset, type DataSplit, type TestTransform } from '../data/index.js';
import { evaluateRetrieval } from '../dml/index.js';
import { setBnRouting, type EmbeddingModel } from '../nn/index.js';
import { noGrad, tensor, tidy } from '../torch/index.js';
import type { MetricValues } from './run-dir.js';

export interface EvaluationSettings {
  transform: TestTransform;
  batchSize: number;
  device: string;
  /** Called after each embedded batch with images done and total. */
  onProgress?: (done: number, total: number) => void;
}

/** The L2-normalised embeddings [N, D] of every image of a split, in split order. */
export async function embedSplit(model: EmbeddingModel, split: DataSplit, settings: EvaluationSettings): Promise<Float32Array> {
  const loader = evaluationLoader(split, { batchSize: settings.batchSize, transform: settings.transform });
  const out = new Float32Array(split.size * model.embedDim);
  model.eval();
  setBnRouting(model, { kind: 'branch', branch: 0 });
  let done = 0;
  for await (const batch of loader.epoch()) {
    const rows = tidy(() => noGrad(() => model.forward(tensor(batch.images, [...batch.shape]).to(settings.device)).to('cpu').toFloat32Array()));
    out.set(rows, done * model.embedDim);
    done += batch.shape[0];
    settings.onProgress?.(done, split.size);
  }
  return out;
}

/** Metrics of the model on the dataset's evaluation protocol (same-set retrieval, or query vs gallery). */
export async function evaluateModel(model: EmbeddingModel, evaluation: Dataset['evaluation'], settings: EvaluationSettings): Promise<MetricValues> {
  const { query, gallery, sameSet } = evaluation;
  const queryRows = await embedSplit(model, query, settings);
  const galleryRows = sameSet ? undefined : await embedSplit(model, gallery, settings);
  const dim = model.embedDim;
  return tidy(() => {
    const report = evaluateRetrieval({
      queries: tensor(queryRows, [query.size, dim]),
      queryLabels: tensor(query.labels, [query.size]).to('int64'),
      ...(galleryRows
        ? { gallery: tensor(galleryRows, [gallery.size, dim]), galleryLabels: tensor(gallery.labels, [gallery.size]).to('int64') }
        : {}),
    });
    const metrics: MetricValues = {};
    for (const [key, value] of Object.entries(report)) if (typeof value === 'number') metrics[key] = value;
    return metrics;
  });
}
