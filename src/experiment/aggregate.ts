// From finished runs to experiment.json's statistics: per method and metric the per-seed values,
// mean and standard deviation; per method against the first (the baseline) the paired
// differences over seeds with a Student-t 95% interval, and per seed a bootstrap interval over
// the queries (Recall@1, whose per-query hits eval.json keeps). Every number is measured on the
// same seeded queries for every method, so differences are paired by seed and by query.
// Runs evaluated with one of RobRank's profiles add their ERS and its ten components.
import { ERS_COMPONENTS, type ErsComponent } from '../adversarial/index.js';
import type { AttackEntry, DetectionStat, Difference, ErsEntry, EvalFile, ExperimentMethod, RobustStat, SeedStat } from '../formats/index.js';
import { bootstrapDifference, excludesZero, mean, meanInterval, pairedDifference, sampleStd } from '../report/index.js';

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

/** The run's ERS entry: the first budget's (a profile has one) with a score; null when it has none or only an older file's six components. */
function ersOf(e: EvalFile): ErsEntry | null {
  const entry = e.ers?.[0];
  if (entry === undefined || entry.score === null) return null;
  const current = Object.keys(entry.components).every((k) => (ERS_COMPONENTS as readonly string[]).includes(k));
  return current ? (entry as ErsEntry) : null;
}

/** Whether every run of every method has an ERS. */
function everyRunHasErs(methods: readonly MethodResults[]): boolean {
  return methods.length > 0 && methods.every((m) => m.seeds.every((s) => ersOf(s.evaluation) !== null));
}

/** Per method its ERS and each component every run measured, over the seeds; {} when some run has no ERS. */
function ersStats(m: MethodResults, all: readonly MethodResults[]): Pick<ExperimentMethod, 'ers' | 'ers_components'> {
  if (!everyRunHasErs(all)) return {};
  const entries = m.seeds.map((s) => ersOf(s.evaluation)!);
  const measured = ERS_COMPONENTS.filter((c) => all.every((x) => x.seeds.every((s) => ersOf(s.evaluation)!.components[c] !== undefined)));
  return {
    ers: stat(entries.map((e) => e.score!)),
    ers_components: Object.fromEntries(measured.map((c: ErsComponent) => [c, stat(entries.map((e) => e.components[c]!.rescaled))])),
  };
}

const detectionKey = (d: { attack: string; eps_text: string; iters: number; branch: number }) => `${d.attack}|${d.eps_text}|${d.iters}|${d.branch}`;

/** The detector's AUROC over the seeds, per attack, budget and branch every run of the method scored; {} when a run has none. */
function detectionStats(m: MethodResults): Pick<ExperimentMethod, 'detection'> {
  const runs = m.seeds.map((s) => s.evaluation.detection);
  if (runs.length === 0 || runs.some((d) => d === undefined || d.length === 0)) return {};
  const shared = runs[0]!.filter((d) => runs.every((r) => r!.some((x) => detectionKey(x) === detectionKey(d))));
  return {
    detection: shared.map((d): DetectionStat => {
      const values = runs.map((r) => r!.find((x) => detectionKey(x) === detectionKey(d))!.auroc);
      const interval = values.length > 1 ? meanInterval(values) : null;
      return { attack: d.attack, eps: d.eps, eps_text: d.eps_text, iters: d.iters, branch: d.branch, auroc: stat(values), ci95: interval ? [interval.lo, interval.hi] : null };
    }),
  };
}

/** `robust: false` leaves out Recall@1 under each attack (a profile's attacks are read through the ERS instead). */
export function summarizeMethods(methods: readonly MethodResults[], options: { robust?: boolean } = {}): ExperimentMethod[] {
  const { metrics, conditions } = shared(methods);
  const robust = options.robust === false ? [] : conditions;
  return methods.map((m) => ({
    name: m.name,
    runs: m.seeds.map((s) => s.dir),
    clean: Object.fromEntries(metrics.map((k) => [k, stat(m.seeds.map((s) => s.evaluation.clean[k]!))])),
    robust: robust.map(
      (c): RobustStat => ({ attack: c.attack, eps: c.eps, iters: c.iters, 'recall@1': stat(m.seeds.map((s) => attacked(s.evaluation, c).entry['recall@1'])) }),
    ),
    ...ersStats(m, methods),
    ...detectionStats(m),
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

/** Every method after the first against the first, seed by seed (seeds must be listed alike); ERS too where every run has one. */
export function differencesToBaseline(methods: readonly MethodResults[], options: { robust?: boolean } = {}): Difference[] {
  const [baseline, ...others] = methods;
  if (!baseline) return [];
  const { metrics, conditions } = shared(methods);
  const robust = options.robust === false ? [] : conditions;
  const ers = everyRunHasErs(methods);
  return others.flatMap((m) => {
    if (m.seeds.map((s) => s.seed).join() !== baseline.seeds.map((s) => s.seed).join()) {
      throw new Error(`experiment: ${m.name} and ${baseline.name} have different seeds; differences pair runs by seed`);
    }
    return [
      ...metrics.map((k) => difference(m, baseline, k, (e) => e.clean[k]!, k === 'recall@1' ? (e) => e.clean_hits : null)),
      ...robust.map((c) =>
        difference(m, baseline, 'recall@1', (e) => attacked(e, c).entry['recall@1'], (e) => attacked(e, c).hits, c),
      ),
      ...(ers ? [difference(m, baseline, 'ers', (e) => ersOf(e)!.score!, null)] : []),
    ];
  });
}
