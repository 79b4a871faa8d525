// Clean retrieval quality of a model on a dataset's evaluation protocol (same-set retrieval, or
// query vs gallery): embed with the test transform on BN branch 0 in eval mode, then the
// retrieval, clustering and embedding-space metrics of src/dml at the dataset's Recall@K.
import type { Dataset, DataSplit, TestTransform } from '../data/index.js';
import { retrievalMetrics, type MetricValues } from '../dml/index.js';
import { setBnRouting, type EmbeddingModel } from '../nn/index.js';
import { tensor, tidy } from '../torch/index.js';
import { embedSplit } from './embed-split.js';

export interface CleanEvaluationSettings {
  transform: TestTransform;
  batchSize: number;
  device: string;
  /** The K of Recall@K. */
  ks: readonly number[];
  /** After each embedded batch: images done and in total. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Embeds a whole split [N, dim] given a way to embed any part of it, e.g. a share per rank of a
   * data-parallel run gathered on every rank; default: all of it here.
   */
  splitEmbedder?: (embedPart: (part: DataSplit) => Promise<Float32Array>, split: DataSplit, dim: number) => Promise<Float32Array>;
}

/** Every clean metric of the model on a dataset's evaluation splits (what training logs at each evaluation). */
export async function cleanMetrics(model: EmbeddingModel, evaluation: Dataset['evaluation'], settings: CleanEvaluationSettings): Promise<MetricValues> {
  const { query, gallery, sameSet } = evaluation;
  model.eval();
  setBnRouting(model, { kind: 'branch', branch: 0 });
  const total = query.size + (sameSet ? 0 : gallery.size);
  const embed = (x: Parameters<EmbeddingModel['forward']>[0]) => model.forward(x);
  const dim = model.embedDim;
  const embedAll = async (split: DataSplit, before: number): Promise<{ rows: Float32Array }> => {
    const embedPart = async (part: DataSplit) => (await embedSplit(embed, part, { ...settings, onProgress: (done) => settings.onProgress?.(before + done, total) })).rows;
    return { rows: settings.splitEmbedder ? await settings.splitEmbedder(embedPart, split, dim) : await embedPart(split) };
  };
  const queryRows = await embedAll(query, 0);
  const galleryRows = sameSet ? undefined : await embedAll(gallery, query.size);
  return tidy(() =>
    retrievalMetrics({
      queries: tensor(queryRows.rows, [query.size, dim]),
      queryLabels: tensor(query.labels, [query.size]).to('int64'),
      ...(galleryRows
        ? { gallery: tensor(galleryRows.rows, [gallery.size, dim]), galleryLabels: tensor(gallery.labels, [gallery.size]).to('int64') }
        : {}),
      ks: settings.ks,
    }),
  );
}
