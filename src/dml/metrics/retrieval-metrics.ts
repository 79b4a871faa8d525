// The metrics of a set of embeddings in one call: retrieval, clustering and embedding-space metrics.
// Every sample is a query against all others (self excluded) unless a separate gallery is given
// (In-Shop; attacked queries against a clean gallery). Embeddings are L2-normalised and compared
// by Euclidean distance.
import { cat, noGrad, tidy, type Tensor } from '../../torch/index.js';
import { normalizedMutualInformation, pairF1 } from './clustering.js';
import { piRatio, rhoSpectrum } from './embedding-space.js';
import { kmeans, type KMeansOptions } from './kmeans.js';
import { countDistinct, denseLabels, labelNumbers } from './labels.js';
import { retrievalScores } from './retrieval.js';
import type { MetricValues } from './values.js';

export type MetricsStage = 'retrieval' | 'kmeans-init' | 'kmeans';

export interface RetrievalMetricsOptions {
  /** [Nq, D] float. */
  queries: Tensor;
  /** [Nq] integer class labels. */
  queryLabels: Tensor;
  /** [Ng, D]; absent: every query searches all other queries. */
  gallery?: Tensor;
  galleryLabels?: Tensor;
  /** Per query, a gallery row it must not retrieve (its own clean copy), or -1; needs a gallery. */
  excludedGalleryRows?: Int32Array;
  /** Recall@K for each K (default 1, 2, 4, 8). */
  ks?: readonly number[];
  /** k-means (k = number of classes) for NMI and F1; false skips them. Default on, seed 0. */
  clustering?: boolean | KMeansOptions;
  /** pi-ratio and rho-spectrum; default on. */
  embeddingSpace?: boolean;
  /** Which singular values rho-spectrum starts from (1: all). */
  rhoOffset?: number;
  /** Query rows per similarity block (default: from memoryBudgetBytes, 128 MiB for the block and its copies). */
  chunkSize?: number;
  memoryBudgetBytes?: number;
  onProgress?: (stage: MetricsStage, done: number, total: number) => void;
}

function checkEmbeddings(t: Tensor, what: string): void {
  if (t.ndim !== 2) throw new RangeError(`retrievalMetrics: ${what} must be [N, D], got [${t.shape.join(', ')}]`);
  if (!['float32', 'float64', 'float16', 'bfloat16'].includes(t.dtype)) throw new TypeError(`retrievalMetrics: ${what} must be floating point, got ${t.dtype}`);
}

/**
 * Recall@K for each K, MAP@R (window and denominator R = the other same-class items), the MDProp
 * authors' mAP_c (the class size counting the query: see retrieval.ts), R-precision and mAP over
 * the whole ranking; then NMI and F1 unless clustering is off, pi_ratio and rho_spectrum unless
 * embeddingSpace is off.
 */
export function retrievalMetrics(options: RetrievalMetricsOptions): MetricValues {
  const { queries, queryLabels, gallery, galleryLabels } = options;
  checkEmbeddings(queries, 'queries');
  if ((gallery === undefined) !== (galleryLabels === undefined)) throw new TypeError('retrievalMetrics: give gallery and galleryLabels together');
  if (gallery) {
    checkEmbeddings(gallery, 'gallery');
    if (gallery.size(1) !== queries.size(1)) throw new RangeError(`retrievalMetrics: queries have ${queries.size(1)} dims, gallery ${gallery.size(1)}`);
  }
  const queryNumbers = labelNumbers(queryLabels, 'retrievalMetrics queryLabels');
  if (queryNumbers.length !== queries.size(0)) throw new RangeError(`retrievalMetrics: ${queries.size(0)} queries but ${queryNumbers.length} labels`);
  const galleryNumbers = galleryLabels ? labelNumbers(galleryLabels, 'retrievalMetrics galleryLabels') : [];
  if (gallery && galleryNumbers.length !== gallery.size(0)) throw new RangeError(`retrievalMetrics: ${gallery.size(0)} gallery rows but ${galleryNumbers.length} labels`);
  const [queryIds, galleryIds] = denseLabels(queryNumbers, galleryNumbers).map((d) => d.ids) as [Int32Array, Int32Array];
  const ks = options.ks ?? [1, 2, 4, 8];

  const scores = retrievalScores({
    queries,
    queryIds,
    gallery,
    galleryIds: gallery ? galleryIds : undefined,
    excludedGalleryRows: options.excludedGalleryRows,
    ks,
    chunkSize: options.chunkSize,
    memoryBudgetBytes: options.memoryBudgetBytes,
    onProgress: (done, total) => options.onProgress?.('retrieval', done, total),
  });
  const report: MetricValues = { ...scores.metrics };

  const clustering = options.clustering ?? true;
  const embeddingSpace = options.embeddingSpace ?? true;
  if (clustering === false && !embeddingSpace) return report;
  noGrad(() =>
    tidy(() => {
      // Clustering and embedding-space measures describe the whole evaluated set.
      const all = gallery ? cat([queries.detach(), gallery.detach()], 0) : queries.detach();
      const ids = gallery ? Int32Array.from([...queryIds, ...galleryIds]) : queryIds;
      const classes = countDistinct(ids);
      if (clustering !== false) {
        const kmeansOptions: KMeansOptions = clustering === true ? {} : clustering;
        const normalized = all.div(all.norm(2, 1, true).clampMin(1e-12));
        const result = kmeans(normalized, classes, {
          ...kmeansOptions,
          onProgress: (stage, done, total) => {
            kmeansOptions.onProgress?.(stage, done, total);
            options.onProgress?.(stage === 'init' ? 'kmeans-init' : 'kmeans', done, total);
          },
        });
        report.nmi = normalizedMutualInformation(ids, result.assignments);
        report.f1 = pairF1(ids, result.assignments);
      }
      if (embeddingSpace) {
        report.pi_ratio = piRatio(all, ids, classes).ratio;
        report.rho_spectrum = rhoSpectrum(all, options.rhoOffset ?? 1);
      }
    }),
  );
  return report;
}
