// Summaries across attacks and across runs.
//
// Empirical robustness score (ERS), after RobRank (Zhou et al.): each attack's measure is rescaled
// to [0, 100], where 100 is an ideally robust model, and ERS is their mean:
//   CA+  2 * 100 * rank      (an unmoved candidate sits at the 50th percentile)
//   CA-  100 - 100 * rank
//   QA+  2 * 100 * rank
//   QA-  100 - 100 * rank
//   ES:D 100 * (2 - shift) / 2   (unit embeddings move at most 2)
//   ES:R 100 * Recall@1 after the ES attack
// RobRank's ERS also averages TMA, LTM, GTM and GTT, which this suite does not run, so our score
// (ERS over these six) is comparable across our runs, not to the paper's tables.
//
// Robustness ratio (how MDProp states "2.12x robustness"): a run's metric under an attack divided
// by a reference run's metric under the same attack, eps and iterations.

export const ERS_COMPONENTS = ['ca+', 'ca-', 'qa+', 'qa-', 'es:d', 'es:r'] as const;
export type ErsComponent = (typeof ERS_COMPONENTS)[number];

/** Raw measures: rank percentiles in [0, 1], the embedding shift, Recall@1 in [0, 1]. */
export type ErsMeasures = Partial<Record<ErsComponent, number>>;

export interface ErsResult {
  /** Mean of the rescaled components present, in [0, 100]; null when none is. */
  score: number | null;
  /** Each present component rescaled to [0, 100]. */
  components: Partial<Record<ErsComponent, number>>;
  /** Components the score lacks (attacks not run at this eps). */
  missing: ErsComponent[];
}

export function rescaleErsComponent(component: ErsComponent, value: number): number {
  switch (component) {
    case 'ca+':
    case 'qa+':
      return 200 * value;
    case 'ca-':
    case 'qa-':
      return 100 - 100 * value;
    case 'es:d':
      return (100 * (2 - value)) / 2;
    case 'es:r':
      return 100 * value;
  }
}

export function empiricalRobustnessScore(measures: ErsMeasures): ErsResult {
  const components: Partial<Record<ErsComponent, number>> = {};
  const missing: ErsComponent[] = [];
  for (const name of ERS_COMPONENTS) {
    const value = measures[name];
    if (value === undefined) missing.push(name);
    else components[name] = rescaleErsComponent(name, value);
  }
  const present = Object.values(components);
  return { score: present.length ? present.reduce((a, b) => a + b, 0) / present.length : null, components, missing };
}

/**
 * A run's metric over the reference run's under the same attack, eps and iterations. Null where
 * either value is missing or the reference is 0 (no ratio to speak of): the one rule every table uses.
 */
export function robustnessRatio(value: number | null | undefined, reference: number | null | undefined): number | null {
  if (value === null || value === undefined || reference === null || reference === undefined || reference === 0) return null;
  return value / reference;
}
