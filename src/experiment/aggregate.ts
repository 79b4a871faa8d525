// From finished runs to experiment.json's statistics: per method and metric the per-seed values,
// mean and standard deviation; per method against the first (the baseline) the paired
// differences over seeds with a Student-t 95% interval, and per seed a bootstrap interval over
// the queries (Recall@1, whose per-query hits eval.json keeps). Every number is measured on the
// same seeded queries for every method, so differences are paired by seed and by query.
import type { AttackEntry, Difference, EvalFile, ExperimentMethod, RobustStat, SeedStat } from '../formats/index.js';
import { bootstrapDifference, excludesZero, mean, pairedDifference, sampleStd } from '../report/index.js';

export interface SeedResult {
  seed: number;
  /** Relative to the experiment directory. */
  dir: string;
  evaluation: EvalFile;
}

export interface MethodResults {
  name: string;
  seeds: readonly SeedResult[];
}

function stat(values: number[]): SeedStat {
  return { mean: mean(values), std: values.length > 1 ? sampleStd(values) : null, values };
}

const conditionKey = (a: Pick<AttackEntry, 'attack' | 'eps' | 'iters'>) => `${a.attack}|${a.eps}|${a.iters}`;

/** The clean metric names and attacked conditions every run of every method has, in the first run's order. */
function shared(methods: readonly MethodResults[]): { metrics: string[]; conditions: AttackEntry[] } {
  const all = methods.flatMap((m) => m.seeds.map((s) => s.evaluation));
  const first = all[0];
  if (!first) return { metrics: [], conditions: [] };
  const metrics = Object.keys(first.clean).filter((k) => all.every((e) => typeof e.clean[k] === 'number'));
  const conditions = first.attacks.filter((a) => all.every((e) => e.attacks.some((b) => conditionKey(b) === conditionKey(a))));
  return { metrics, conditions };
}

function attacked(e: EvalFile, condition: AttackEntry): { entry: AttackEntry; hits: (0 | 1)[] | undefined } {
  const i = e.attacks.findIndex((a) => conditionKey(a) === conditionKey(condition));
  return { entry: e.attacks[i]!, hits: e.details[i]?.hits };
}

export function summarizeMethods(methods: readonly MethodResults[]): ExperimentMethod[] {
  const { metrics, conditions } = shared(methods);
  return methods.map((m) => ({
    name: m.name,
    runs: m.seeds.map((s) => s.dir),
    clean: Object.fromEntries(metrics.map((k) => [k, stat(m.seeds.map((s) => s.evaluation.clean[k]!))])),
    robust: conditions.map(
      (c): RobustStat => ({ attack: c.attack, eps: c.eps, iters: c.iters, 'recall@1': stat(m.seeds.map((s) => attacked(s.evaluation, c).entry['recall@1'])) }),
    ),
  }));
}

function difference(
  method: MethodResults,
  baseline: MethodResults,
  metric: string,
  value: (e: EvalFile) => number,
  hits: ((e: EvalFile) => (0 | 1)[] | undefined) | null,
  condition?: AttackEntry,
): Difference {
  const d = pairedDifference(method.seeds.map((s) => value(s.evaluation)), baseline.seeds.map((s) => value(s.evaluation)));
  const ci95: [number, number] | null = d.n > 1 ? [d.lo, d.hi] : null;
  const out: Difference = {
    method: method.name,
    baseline: baseline.name,
    metric,
    ...(condition ? { attack: condition.attack, eps: condition.eps, iters: condition.iters } : {}),
    mean: d.estimate,
    ci95,
    values: d.differences,
    significant: ci95 !== null && excludesZero({ lo: ci95[0], hi: ci95[1] }),
  };
  if (hits) {
    const intervals = method.seeds.flatMap((s, i) => {
      const a = hits(s.evaluation);
      const b = hits(baseline.seeds[i]!.evaluation);
      if (!a || !b || a.length !== b.length || a.length === 0) return [];
      const boot = bootstrapDifference(a, b, { seed: s.seed });
      return [{ seed: s.seed, ci95: [boot.lo, boot.hi] as [number, number] }];
    });
    if (intervals.length === method.seeds.length) out.bootstrap95 = intervals;
  }
  return out;
}

/** Every method after the first against the first, seed by seed (seeds must be listed alike). */
export function differencesToBaseline(methods: readonly MethodResults[]): Difference[] {
  const [baseline, ...others] = methods;
  if (!baseline) return [];
  const { metrics, conditions } = shared(methods);
  return others.flatMap((m) => {
    if (m.seeds.map((s) => s.seed).join() !== baseline.seeds.map((s) => s.seed).join()) {
      throw new Error(`experiment: ${m.name} and ${baseline.name} have different seeds; differences pair runs by seed`);
    }
    return [
      ...metrics.map((k) => difference(m, baseline, k, (e) => e.clean[k]!, k === 'recall@1' ? (e) => e.clean_hits : null)),
      ...conditions.map((c) =>
        difference(m, baseline, 'recall@1', (e) => attacked(e, c).entry['recall@1'], (e) => attacked(e, c).hits, c),
      ),
    ];
  });
}
