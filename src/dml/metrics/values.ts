// Metric values: one type for them wherever they go, from the metric functions through training
// logs and evaluation to summary.json, eval.json and the reports.

/** The name of Recall@K among metric values: recall@1, recall@10, ... */
export type RecallKey = `recall@${number}`;

/**
 * Metric values by their JSON names: recall@K (each K), map@r, map_c, r_precision, map, nmi, f1,
 * pi_ratio, rho_spectrum (rates in [0, 1]; pi_ratio and rho_spectrum are not). Each computation
 * fills in the ones it measures, in the order files keep them.
 */
export type MetricValues = Record<string, number>;

export function recallKey(k: number): RecallKey {
  return `recall@${k}`;
}
