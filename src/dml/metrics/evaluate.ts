// One entry point for evaluating embeddings: retrieval, clustering and embedding-space metrics.
// Every sample is a query against all others (self excluded) unless a separate gallery is given
// (In-Shop; attacked queries against a clean gallery). Embeddings are L2-normalised and compared
// by Euclidean distance.
import { cat, noGrad, tidy, type Tensor } from '../../torch/index.js';
import { normalizedMutualInformation, pairF1 } from './clustering.js';
import { piRatio, rhoSpectrum } from './embedding-space.js';
import { kmeans, type KMeansOptions } from './kmeans.js';
import { countDistinct, denseLabels, labelNumbers } from './labels.js';
import { retrievalScores } from './retrieval.js';

export type RecallKey = `recall@${number}`;

/** Metric values keyed by their JSON names; all in [0, 1] except pi_ratio and rho_spectrum. */
export type RetrievalReport = { [key: RecallKey]: number } & {
  /** MAP@R (Musgrave et al.): window and denominator R = the other same-class items. */
  'map@r': number;
  /** The MDProp authors' mAP_c: window and denominator = the class size counting the query (src/dml/metrics/retrieval.ts). */
  map_c: number;
  r_precision: number;
  /** Mean average precision over the whole ranking. */
  map: number;
  /** Present unless clustering was switched off. */
  nmi?: number;
  f1?: number;
  /** Present unless embeddingSpace was switched off. */
  pi_ratio?: number;
  rho_spectrum?: number;
};

export type EvaluationStage = 'retrieval' | 'kmeans-init' | 'kmeans';

export interface RetrievalEvaluationOptions {
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
  onProgress?: (stage: EvaluationStage, done: number, total: number) => void;
}

function checkEmbeddings(t: Tensor, what: string): void {
  if (t.ndim !== 2) throw new RangeError(`evaluateRetrieval: ${what} must be [N, D], got [${t.shape.join(', ')}]`);
  if (!['float32', 'float64', 'float16', 'bfloat16'].includes(t.dtype)) throw new TypeError(`evaluateRetrieval: ${what} must be floating point, got ${t.dtype}`);
}

export function evaluateRetrieval(options: RetrievalEvaluationOptions): RetrievalReport {
  const { queries, queryLabels, gallery, galleryLabels } = options;
  checkEmbeddings(queries, 'queries');
  if ((gallery === undefined) !== (galleryLabels === undefined)) throw new TypeError('evaluateRetrieval: give gallery and galleryLabels together');
  if (gallery) {
    checkEmbeddings(gallery, 'gallery');
    if (gallery.size(1) !== queries.size(1)) throw new RangeError(`evaluateRetrieval: queries have ${queries.size(1)} dims, gallery ${gallery.size(1)}`);
  }
  const queryNumbers = labelNumbers(queryLabels, 'evaluateRetrieval queryLabels');
  if (queryNumbers.length !== queries.size(0)) throw new RangeError(`evaluateRetrieval: ${queries.size(0)} queries but ${queryNumbers.length} labels`);
  const galleryNumbers = galleryLabels ? labelNumbers(galleryLabels, 'evaluateRetrieval galleryLabels') : [];
  if (gallery && galleryNumbers.length !== gallery.size(0)) throw new RangeError(`evaluateRetrieval: ${gallery.size(0)} gallery rows but ${galleryNumbers.length} labels`);
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
  const report: RetrievalReport = { 'map@r': scores.mapAtR, map_c: scores.mapC, r_precision: scores.rPrecision, map: scores.map };
  ks.forEach((k, i) => {
    report[`recall@${k}`] = scores.recall[i]!;
  });

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
