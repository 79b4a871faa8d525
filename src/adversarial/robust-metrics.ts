// Retrieval quality of (attacked) queries against the clean gallery: Recall@K and MAP@R from
// src/dml with each query's own clean copy excluded, and NMI against the clean gallery's clusters:
// k-means on the clean gallery (k = its number of classes, seeded) fixes the cluster centres once;
// each query joins its nearest centre, and NMI compares those assignments with the query labels.
// Clean and attacked queries are measured by the same functions, so eps 0 reproduces the clean
// numbers bit for bit.
import { kmeans, normalizedMutualInformation, recallKey, retrievalMetrics, type MetricValues } from '../dml/index.js';
import * as T from '../torch/index.js';
import { F, noGrad, tidy, type Tensor } from '../torch/index.js';
import { int64Tensor, type CleanGallery } from './gallery.js';

/** Cluster centres of the clean gallery [k, D]; dispose() frees them. */
export class GalleryClusters {
  readonly centres: Tensor;

  constructor(gallery: CleanGallery, seed = 0) {
    const { assignments } = kmeans(gallery.embeddings, gallery.classes, { seed });
    this.centres = T.keep(T.tensor(...clusterMeans(gallery.embeddings, assignments, gallery.classes), { device: gallery.device }));
  }

  /** The nearest centre of each row of unit embeddings [n, D]. */
  assign(embeddings: Tensor): Int32Array {
    return noGrad(() =>
      tidy(() => {
        // argmin |e - c|² = argmax (e·c - |c|²/2)
        const score = embeddings.mm(this.centres.t()).sub(this.centres.square().sum(1).mul(0.5).unsqueeze(0));
        return Int32Array.from(score.argmax(1).toNumbers());
      }),
    );
  }

  dispose(): void {
    this.centres.dispose();
  }
}

/** Mean row of every non-empty cluster, as [values, shape] (an empty cluster has no centre to join). */
function clusterMeans(rows: Tensor, assignments: Int32Array, k: number): [Float32Array, number[]] {
  const dim = rows.size(1);
  const values = noGrad(() => tidy(() => rows.to('cpu').to('float32').contiguous().toFloat32Array()));
  const sums = new Float64Array(k * dim);
  const counts = new Int32Array(k);
  assignments.forEach((cluster, r) => {
    counts[cluster]!++;
    for (let d = 0; d < dim; d++) sums[cluster * dim + d]! += values[r * dim + d]!;
  });
  const used = [...counts.keys()].filter((c) => counts[c]! > 0);
  const out = new Float32Array(used.length * dim);
  used.forEach((cluster, i) => {
    for (let d = 0; d < dim; d++) out[i * dim + d] = sums[cluster * dim + d]! / counts[cluster]!;
  });
  return [out, [used.length, dim]];
}

export interface QuerySetEmbeddings {
  /** [N, D] embeddings of the (attacked) queries, any device. */
  embeddings: Tensor;
  labels: Int32Array;
  /** Gallery row of each query's clean copy, -1 when it has none. */
  ownRows: Int32Array;
}

/** Recall@K (each K), MAP@R, mAP_c and NMI of the queries against the clean gallery. */
export function galleryMetrics(queries: QuerySetEmbeddings, gallery: CleanGallery, clusters: GalleryClusters, ks: readonly number[]): MetricValues {
  return tidy(() => {
    const q = noGrad(() => F.l2Normalize(queries.embeddings.detach().to(gallery.device), 1));
    const excluded = queries.ownRows.some((row) => row >= 0) ? queries.ownRows : undefined;
    const report = retrievalMetrics({
      queries: q,
      queryLabels: int64Tensor(queries.labels, gallery.device),
      gallery: gallery.embeddings,
      galleryLabels: int64Tensor(gallery.labels, gallery.device),
      ...(excluded ? { excludedGalleryRows: excluded } : {}),
      ks,
      clustering: false,
      embeddingSpace: false,
    });
    const out: MetricValues = {};
    for (const k of ks) out[recallKey(k)] = report[recallKey(k)]!;
    out['map@r'] = report['map@r']!;
    out.map_c = report.map_c!;
    out.nmi = normalizedMutualInformation(queries.labels, clusters.assign(q));
    return out;
  });
}
