// `runExperiment(options)`: every method trained with every seed under identical settings (one
// ordinary run directory each, <out>/<method>/seed-<s>/), each evaluated on the same seeded
// queries with the same attacks, then experiment.json. Finished runs are skipped and interrupted
// ones resumed, so running it again continues where it stopped.
import { attackIters, PROFILES, type AttackName, type ProfileName } from '../adversarial/index.js';
import { evaluate, EVALUATE_DEFAULTS, writeRunViews, type EvalProgress } from '../evaluate/index.js';
import { ExperimentDirectory, experimentRunPath, methodName, RunDirectory, type EvalFile, type ExperimentFile, type TrainConfig } from '../formats/index.js';
import type { MethodName, MethodSpec } from '../methods/index.js';
import { archHasBatchNorm } from '../nn/index.js';
import { ConfigError, methodOf, resolveTrainConfig, resumeTraining, setting, train, type TrainControl, type TrainOptions } from '../train/index.js';
import { differencesToBaseline, summarizeMethods, type MethodResults } from './aggregate.js';
import { PRESETS, type PresetName } from './presets.js';
import { writeExperimentReport, writeRunReport } from '../report/index.js';

export interface ExperimentOptions {
  preset?: PresetName;
  /** The first is the baseline every other method is compared with. */
  methods?: readonly (MethodName | MethodSpec)[];
  seeds?: readonly number[];
  /** Training settings every run shares (dataset required unless the preset gives it). */
  train?: Partial<Omit<TrainOptions, 'out' | 'seed' | 'method'>>;
  /**
   * RobRank's protocol for every run's evaluation (its nine attacks at its budget; `attacks` may
   * narrow them; eps and iters come from the profile): experiment.json then carries each method's
   * ERS and its components over the seeds, and the ERS difference to the baseline.
   */
  profile?: ProfileName;
  attacks?: readonly AttackName[];
  eps?: readonly (number | string)[];
  iters?: number;
  /** Attacked queries per run; null: the whole test set. */
  limit?: number | null;
  /**
   * Also score each run whose model has auxiliary BN branches with the detector (`evaluate`'s
   * detect): experiment.json then gives those methods' AUROC per attack, budget and branch over seeds.
   */
  detect?: boolean;
  out: string;
  /** Compute views.json (embedding map, gallery) for each run's report; default true. */
  views?: boolean;
  onProgress?: (progress: ExperimentProgress) => void;
  /**
   * Aborting stops the experiment where nothing is lost: a run in training stops after its current
   * step with a checkpoint (the promise rejects with TrainingInterrupted), an evaluation at its next
   * batch (it rejects with the signal's reason; the evaluation starts over next time). Calling
   * again with the same options goes on from there.
   */
  signal?: AbortSignal;
}

export interface ExperimentProgress {
  /**
   * Training steps done and in total over every run, so a rate and an ETA mean something; reported
   * from the moment the steps of one run are known (its first epoch, or a finished run's summary).
   */
  done: number;
  total: number;
  /**
   * The part of `done` trained by this call; the rest was found done (finished or checkpointed
   * runs of an earlier call), so a rate over time counts only this.
   */
  doneHere: number;
  /** What runs now, e.g. "mdprop seed 1: epoch 2/4", "mdprop seed 1: evaluating" or "mdprop seed 1: evaluating, stax eps 0.1 (3/9)". */
  current: string;
}

interface Plan {
  preset: PresetName | null;
  profile: ProfileName | null;
  methods: (MethodName | MethodSpec)[];
  seeds: number[];
  train: Partial<Omit<TrainOptions, 'out' | 'seed' | 'method'>> & { dataset: TrainOptions['dataset'] };
  attacks: AttackName[];
  eps: (number | string)[];
  iters: number;
  limit: number | null;
  detect: boolean;
}

function planOf(o: ExperimentOptions): Plan {
  const preset = o.preset === undefined ? null : PRESETS[o.preset];
  const train = { ...(preset?.train ?? {}), ...(o.train ?? {}) };
  if (train.dataset === undefined) throw new ConfigError(`${setting('dataset')} is required unless a ${setting('preset')} (${Object.keys(PRESETS).join(', ')}) gives it`);
  const methods = [...(o.methods ?? preset?.methods ?? ['baseline', 'mdprop'])];
  const seeds = [...(o.seeds ?? preset?.seeds ?? [0, 1, 2])];
  if (methods.length === 0 || seeds.length === 0) throw new Error('experiment: give at least one method and one seed');
  if (new Set(methods.map(methodName)).size !== methods.length) throw new Error('experiment: every method needs its own name');
  const limit = o.limit === undefined ? (preset?.limit ?? null) : o.limit;
  const common = { preset: o.preset ?? null, methods, seeds, train: { ...train, dataset: train.dataset }, limit, detect: o.detect === true };
  if (o.profile !== undefined) {
    const profile = PROFILES[o.profile];
    if (profile === undefined) throw new ConfigError(`experiment: unknown profile '${String(o.profile)}'`);
    if (o.eps !== undefined || o.iters !== undefined) throw new ConfigError(`experiment: the profile ${profile.name} fixes eps and iters (RobRank's protocol); leave them out or drop the profile`);
    return { ...common, profile: profile.name, attacks: [...(o.attacks ?? profile.attacks)], eps: [profile.eps], iters: profile.iters };
  }
  return {
    ...common,
    profile: null,
    attacks: [...(o.attacks ?? preset?.attacks ?? EVALUATE_DEFAULTS.attacks)],
    eps: [...(o.eps ?? preset?.eps ?? [0.03, 0.1, 0.3])],
    iters: o.iters ?? preset?.iters ?? EVALUATE_DEFAULTS.iters,
  };
}

/** The evaluation each run gets; `detect` where the run's model has auxiliary BN branches to compare. */
function evaluationOptions(plan: Plan, detect: boolean): Parameters<typeof evaluate>[1] {
  const limit = plan.limit === null ? {} : { limit: plan.limit };
  const detector = detect ? { detect: true } : {};
  if (plan.profile !== null) return { profile: plan.profile, attacks: plan.attacks, ...limit, ...detector };
  return { attacks: plan.attacks, eps: plan.eps, iters: plan.iters, ...limit, ...detector };
}

/** Whether a run's model has auxiliary BN branches: its method has several and its network batch norms. */
function hasAuxBranches(config: TrainConfig): boolean {
  return methodOf(config).branches > 1 && archHasBatchNorm(config.arch);
}

/** The attack the views' retrieval gallery shows: a profile's embedding shift, else the first attack, at the middle budget. */
function viewsAttack(plan: Plan): { attack: AttackName; eps: number | string; iters: number } {
  if (plan.profile !== null) return { attack: plan.attacks.includes('es') ? 'es' : plan.attacks[0]!, eps: plan.eps[0]!, iters: plan.iters };
  return { attack: plan.attacks[0]!, eps: plan.eps[Math.floor(plan.eps.length / 2)]!, iters: plan.iters };
}

/** Whether an eval.json measured what this experiment asks for (with the detector where `detect`). */
function evaluatedAlike(e: EvalFile, plan: Plan, detect: boolean): boolean {
  if (detect && !e.detection?.length) return false;
  const wanted = plan.attacks.flatMap((a) => plan.eps.map((eps) => `${a}|${String(eps)}`));
  const have = new Set(e.details.map((d) => `${d.attack}|${d.eps_text}`));
  const sameProfile = (e.settings.profile ?? null) === plan.profile;
  return sameProfile && e.settings.limit === plan.limit && wanted.every((w) => have.has(w)) && e.details.every((d) => d.iters === attackIters(d.attack, plan.iters));
}

/** Training steps over the runs, for a progress display with a rate and an ETA in steps. */
export class StepCount {
  #perRun: number | null = null;
  /** Steps of the runs finished so far, and of the run in progress. */
  #finished = 0;
  #runsFinished = 0;
  #current = 0;
  #here = 0;

  constructor(
    private readonly runs: number,
    private readonly epochs: number,
    private readonly onProgress: ExperimentOptions['onProgress'],
  ) {}

  report(current: string): void {
    if (this.#perRun === null) return;
    // An epoch's step count can differ by one from the first (the class-balanced sampler fills
    // batches by class), so finished runs count what they took, and the total never falls below
    // what is done: the bar ends at 100% and its ETA never goes negative.
    const perRun = this.#runsFinished > 0 ? this.#finished / this.#runsFinished : this.#perRun;
    const left = this.runs - this.#runsFinished;
    const total = left > 0 ? this.#finished + Math.max(this.#current, perRun) + perRun * (left - 1) : this.#finished;
    this.onProgress?.({ done: this.#finished + this.#current, total: Math.round(total), doneHere: this.#here, current });
  }

  /** Hooks for train(): each epoch's step bar advances the count. */
  control(label: string): TrainControl {
    this.#current = 0;
    return {
      progress: (what, total, unit) => {
        if (unit !== 'step') return { tick: () => this.report(`${label}: ${what}`), stop() {} };
        // The first epoch of the first run trained here tells how many steps a run takes.
        this.#perRun ??= total * this.epochs;
        this.report(`${label}: ${what}`);
        return {
          tick: (n = 1) => {
            this.#current += n;
            this.#here += n;
            this.report(`${label}: ${what}`);
          },
          stop() {},
        };
      },
    };
  }

  /** A run trained (or found finished) with `steps` steps. */
  finished(steps: number, current: string): void {
    this.#perRun ??= steps;
    this.#finished += steps;
    this.#runsFinished += 1;
    this.#current = 0;
    this.report(current);
  }
}

export async function runExperiment(options: ExperimentOptions): Promise<ExperimentFile> {
  const started = performance.now();
  const plan = planOf(options);
  const experiment = new ExperimentDirectory(options.out);
  // Every run's settings are checked before the first one starts.
  const configs = plan.methods.map((method) => resolveTrainConfig({ ...plan.train, method, seed: plan.seeds[0]!, out: options.out }));
  const steps = new StepCount(plan.methods.length * plan.seeds.length, configs[0]!.epochs, options.onProgress);
  const results: MethodResults[] = [];
  for (const method of plan.methods) {
    const name = methodName(method);
    const seeds: MethodResults['seeds'][number][] = [];
    for (const seed of plan.seeds) {
      const rel = experimentRunPath(name, seed);
      const run = experiment.run(rel);
      const dir = run.path;
      const label = `${name} seed ${seed}`;
      // The run's report is rewritten whenever one of the files it draws changes.
      let changed = !run.has('report');
      options.signal?.throwIfAborted();
      if (!run.has('summary')) {
        const control = { ...steps.control(label), signal: options.signal };
        if (RunDirectory.holdsRun(dir)) await resumeTraining(dir, {}, control);
        else await train({ ...plan.train, method, seed, out: dir }, control);
        changed = true;
      }
      steps.finished(run.readSummary().steps, `${label}: evaluating`);
      let evaluation = run.has('eval') ? run.readEval() : null;
      const detect = plan.detect && hasAuxBranches(run.readConfig());
      if (evaluation === null || !evaluatedAlike(evaluation, plan, detect)) {
        // The bar's status names the attack being measured: an evaluation takes minutes too.
        const onProgress = (p: EvalProgress) =>
          steps.report(`${label}: evaluating, ${p.stage === 'gallery' ? 'embedding the gallery' : `${p.condition} (${p.conditionIndex + 1}/${p.conditions})`}`);
        evaluation = await evaluate(dir, { ...evaluationOptions(plan, detect), signal: options.signal, onProgress });
        changed = true;
      }
      if (options.views !== false && !run.has('views')) {
        options.signal?.throwIfAborted();
        await writeRunViews(dir, viewsAttack(plan));
        changed = true;
      }
      if (changed) await writeRunReport(dir);
      steps.report(`${label}: done`);
      seeds.push({ seed, dir: rel, evaluation });
    }
    results.push({ name, seeds });
  }
  const first = results[0]!.seeds[0]!.evaluation;
  const { out: _out, seed: _seed, method: _method, ...shared } = configs[0]! as TrainConfig;
  const file: ExperimentFile = {
    format: 'mdprop.experiment/1',
    preset: plan.preset,
    dataset: plan.train.dataset,
    methods: summarizeMethods(results, { robust: plan.profile === null }),
    differences: differencesToBaseline(results, { robust: plan.profile === null }),
    seeds: plan.seeds,
    train: shared,
    evaluation: { profile: plan.profile, ...(plan.detect ? { detect: true } : {}), attacks: plan.attacks, eps: plan.eps, iters: plan.iters, limit: plan.limit, queries: first.settings.queries, gallery: first.settings.gallery },
    model_selection: configs[0]!.modelSelection,
    wall_seconds: Math.round((performance.now() - started) / 100) / 10,
    finished_at: new Date().toISOString(),
  };
  experiment.writeExperiment(file);
  await writeExperimentReport(options.out);
  return file;
}
