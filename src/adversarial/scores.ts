// Summaries across attacks and across runs.
//
// Empirical robustness score (ERS), as RobRank computes it (Zhou et al., CVPR 2022; the rescaling
// is in their tools/pjswipe.py, there in percent): ten measures, each mapped so that 1 is an ideally
// robust model and 0 a broken one, and ERS is their mean (x 100 gives the number of their tables).
//   CA+   2 * rank          an unmoved candidate sits at the 50th percentile (rank 0.5 -> 1)
//   CA-   1 - rank
//   QA+   2 * rank
//   QA-   1 - rank
//   TMA   1 - cosine        cosine of the attacked query to its random target
//   ES:D  (2 - shift) / 2   unit embeddings move at most 2
//   ES:R  Recall@1 after ES
//   LTM   Recall@1 after LTM
//   GTM   Recall@1 after GTM
//   GTT   retain@4 after GTT (share of clean top-1 rows still in the top 4)
// RobRank does not clip: a ranking attack that backfires (CA+ rank above 0.5) scores above 1.
//
// Robustness ratio (how MDProp states "2.12x robustness"): a run's metric under an attack divided
// by a reference run's metric under the same attack, eps and iterations.

export const ERS_COMPONENTS = ['CA+', 'CA-', 'QA+', 'QA-', 'TMA', 'ES:D', 'ES:R', 'LTM', 'GTM', 'GTT'] as const;
export type ErsComponent = (typeof ERS_COMPONENTS)[number];

/** Raw measures: rank percentiles and rates in [0, 1], a cosine, the embedding shift. */
export type ErsMeasures = Partial<Record<ErsComponent, number>>;

export interface ErsValue {
  /** The measure as the attack produced it. */
  raw: number;
  /** RobRank's rescaling: 1 is robust. */
  rescaled: number;
}

export interface ErsResult {
  /** Mean of the rescaled components present (1 robust); null when none is. */
  score: number | null;
  components: Partial<Record<ErsComponent, ErsValue>>;
  /** Components the score lacks (attacks not run at this budget). */
  missing: ErsComponent[];
}

export function rescaleErsComponent(component: ErsComponent, value: number): number {
  switch (component) {
    case 'CA+':
    case 'QA+':
      return 2 * value;
    case 'CA-':
    case 'QA-':
    case 'TMA':
      return 1 - value;
    case 'ES:D':
      return (2 - value) / 2;
    case 'ES:R':
    case 'LTM':
    case 'GTM':
    case 'GTT':
      return value;
  }
}

export function empiricalRobustnessScore(measures: ErsMeasures): ErsResult {
  const components: Partial<Record<ErsComponent, ErsValue>> = {};
  const missing: ErsComponent[] = [];
  let sum = 0;
  let present = 0;
  for (const name of ERS_COMPONENTS) {
    const raw = measures[name];
    if (raw === undefined) {
      missing.push(name);
      continue;
    }
    const rescaled = rescaleErsComponent(name, raw);
    components[name] = { raw, rescaled };
    sum += rescaled;
    present++;
  }
  return { score: present ? sum / present : null, components, missing };
}

/**
 * A run's metric over the reference run's under the same attack, eps and iterations. Null where
 * either value is missing or the reference is 0 (no ratio to speak of): the one rule every table uses.
 */
export function robustnessRatio(value: number | null | undefined, reference: number | null | undefined): number | null {
  if (value === null || value === undefined || reference === null || reference === undefined || reference === 0) return null;
  return value / reference;
}
