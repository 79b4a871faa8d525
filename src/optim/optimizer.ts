// The optimizer base: parameter groups with their own hyperparameters, per-parameter state kept
// outside every scope, in-place updates under noGrad (per parameter, or per group with multi-tensor
// ops), and checkpointable state that does not depend on which of the two paths made it.
import { dispose, keep, noGrad, tidy, zerosLike, type Tensor } from '../torch/index.js';
import {
  copyHyper,
  malformation,
  sameKind,
  sameShape,
  STATE_FORMAT,
  stateTensorName,
  type HyperValue,
  type OptimizerState,
  type SavedGroup,
  type SavedParam,
} from './state-dict.js';

export type { HyperValue, OptimizerState, OptimizerStateMeta, SavedGroup, SavedParam } from './state-dict.js';

/** Hyperparameters every optimizer has. Optimizer options extend this with their own. */
export interface BaseHyper {
  lr: number;
  weightDecay: number;
}

/** A live parameter group: its hyperparameters are plain fields (schedules set `lr`). */
export type ParamGroup<H extends BaseHyper> = H & {
  name: string;
  readonly params: readonly Tensor[];
};

/** How a caller describes a group: its parameters plus any hyperparameters that differ from the defaults. */
export type ParamGroupSpec<H extends BaseHyper> = Partial<H> & {
  params: readonly Tensor[];
  name?: string;
};

/** What an optimizer remembers about one parameter between steps. */
export interface ParamState {
  /** Updates applied to this parameter so far (steps where it had no gradient do not count). */
  step: number;
  /** Named state tensors with the parameter's shape (exp_avg, momentum_buffer, ...). */
  readonly buffers: Map<string, Tensor>;
}

/** Settings of the optimizer itself: not per group, not hyperparameters, not saved with its state. */
export interface OptimizerSettings {
  /**
   * Update a group with multi-tensor (_foreach_) ops: a few op calls per batch of parameters instead
   * of several per parameter, at the cost of holding a batch's temporaries at once (one batch per
   * device, dtype and step count; on the CPU batches of at most CPU_BATCH_ELEMENTS elements).
   * true: every group, its parameters batched by device and dtype; false: one parameter at a time.
   * Default: the groups whose parameters all share one device and dtype.
   */
  foreach?: boolean;
}

/** Parameters of one group updated together by a multi-tensor step. */
export interface ParamBatch {
  readonly params: Tensor[];
  readonly grads: Tensor[];
  readonly states: ParamState[];
  /** The step count, this step included, that every parameter of the batch has. */
  readonly step: number;
}

/**
 * Most elements in one multi-tensor batch on the CPU (8 MiB of float32 per list). Larger batches
 * saved no time there (the update is memory-bound) and were slower; see bench/optimizer.ts.
 */
export const CPU_BATCH_ELEMENTS = 2 ** 21;

/** Any optimizer, whatever its hyperparameters: what trainers and schedulers hold. */
export type AnyOptimizer = Optimizer<BaseHyper>;

export abstract class Optimizer<H extends BaseHyper> {
  readonly groups: ParamGroup<H>[];
  readonly #kind: string;
  readonly #hyperKeys: readonly string[];
  readonly #params: readonly Tensor[];
  /** By parameter index: 'device/dtype', the key that multi-tensor batches are formed by. */
  readonly #kinds: readonly string[];
  /** By group: whether its steps use multi-tensor ops. */
  readonly foreach: readonly boolean[];
  /** By parameter index; undefined until the parameter's first update. */
  #state: (ParamState | undefined)[];

  /**
   * @param kind short name recorded in checkpoints ('sgd', 'adam', ...), so state of one
   *   optimizer is never loaded into another.
   * @param defaults every hyperparameter, used where a group does not set its own.
   */
  protected constructor(
    kind: string,
    params: readonly Tensor[] | readonly ParamGroupSpec<H>[],
    defaults: H,
    settings: OptimizerSettings = {},
  ) {
    this.#kind = kind;
    this.#hyperKeys = Object.keys(defaults);
    const specs = isTensorList(params) ? [{ params } as ParamGroupSpec<H>] : params;
    this.groups = specs.map((spec, i) => this.#makeGroup(spec, i, defaults));
    this.#params = this.groups.flatMap((g) => g.params);
    if (this.#params.length === 0) throw new Error(`${kind}: the parameter list is empty`);
    const seen = new Set<Tensor>();
    this.#params.forEach((p, i) => {
      if (seen.has(p)) throw new Error(`${kind}: parameter ${i} appears more than once; each parameter may be in one group only`);
      seen.add(p);
      if (!p.isLeaf) throw new Error(`${kind}: parameter ${i} is not a leaf tensor (it was computed); optimize the tensor it came from`);
    });
    this.#state = new Array<ParamState | undefined>(this.#params.length);
    for (const group of this.groups) this.validateHyper(group, groupLabel(kind, group));
    if (settings.foreach !== undefined && typeof settings.foreach !== 'boolean') throw new TypeError(`${kind}: foreach must be a boolean`);
    this.#kinds = this.#params.map((p) => `${p.device}/${p.dtype}`);
    let first = 0;
    this.foreach = this.groups.map((group) => {
      const kinds = new Set(this.#kinds.slice(first, (first += group.params.length)));
      return settings.foreach ?? kinds.size <= 1;
    });
  }

  /** Update one parameter in place from its gradient. Runs inside noGrad and tidy. */
  protected abstract updateParam(param: Tensor, grad: Tensor, state: ParamState, group: ParamGroup<H>): void;

  /**
   * Update a batch of parameters in place with multi-tensor ops, with the same result as
   * updateParam on each. Runs inside noGrad and tidy.
   */
  protected abstract updateBatch(batch: ParamBatch, group: ParamGroup<H>): void;

  /** Throw a clear error for hyperparameters the update cannot use. */
  protected abstract validateHyper(hyper: H, where: string): void;

  /** Every parameter, in index order. */
  get params(): readonly Tensor[] {
    return this.#params;
  }

  /** Each group's current learning rate. */
  get lrs(): number[] {
    return this.groups.map((g) => g.lr);
  }

  /** One update of every parameter that has a gradient; parameters without one are left alone. */
  step(): void {
    for (const group of this.groups) this.validateHyper(group, groupLabel(this.#kind, group));
    noGrad(() => {
      let first = 0;
      this.groups.forEach((group, g) => {
        if (this.foreach[g]) this.#stepBatched(group, first);
        else this.#stepEach(group, first);
        first += group.params.length;
      });
    });
  }

  /** The group's parameters one by one; `first` is the index of its first parameter. */
  #stepEach(group: ParamGroup<H>, first: number): void {
    group.params.forEach((param, j) => {
      tidy(() => {
        const grad = param.grad;
        if (grad === null) return;
        const state = (this.#state[first + j] ??= { step: 0, buffers: new Map() });
        state.step += 1;
        this.updateParam(param, grad, state, group);
      });
    });
  }

  /**
   * The group's parameters in batches of one device, dtype and step count, each batch with its
   * own scope so that its temporaries are freed before the next batch allocates. On the CPU a
   * batch is capped at CPU_BATCH_ELEMENTS: freeing a whole model's temporaries at once hands the
   * memory back to the system, and faulting it in again each step costs more than the calls saved.
   */
  #stepBatched(group: ParamGroup<H>, first: number): void {
    tidy(() => {
      const done: ParamBatch[] = [];
      const open = new Map<string, { batch: ParamBatch; elements: number }>();
      group.params.forEach((param, j) => {
        const grad = param.grad;
        if (grad === null) return;
        const state = (this.#state[first + j] ??= { step: 0, buffers: new Map() });
        state.step += 1;
        // A list op needs one device and dtype; bias corrections need one step count.
        const kind = this.#kinds[first + j]!;
        const key = `${kind}#${state.step}`;
        const cap = kind.startsWith('cpu/') ? CPU_BATCH_ELEMENTS : Infinity;
        let entry = open.get(key);
        if (entry !== undefined && entry.elements + param.numel > cap) {
          done.push(entry.batch);
          entry = undefined;
        }
        if (entry === undefined) open.set(key, (entry = { batch: { params: [], grads: [], states: [], step: state.step }, elements: 0 }));
        entry.batch.params.push(param);
        entry.batch.grads.push(grad);
        entry.batch.states.push(state);
        entry.elements += param.numel;
      });
      for (const { batch } of open.values()) done.push(batch);
      for (const batch of done) tidy(() => this.updateBatch(batch, group));
    });
  }

  /** Drop every parameter's gradient (as PyTorch's set_to_none): the next backward starts afresh. */
  zeroGrad(): void {
    for (const p of this.#params) p.grad = null;
  }

  /** The state tensor `name` of a parameter, created (outside every scope) on first use. */
  protected buffer(state: ParamState, name: string, create: () => Tensor): Tensor {
    let t = state.buffers.get(name);
    if (t === undefined) {
      t = keep(create());
      state.buffers.set(name, t);
    }
    return t;
  }

  /** A zero buffer shaped, typed and placed like the parameter. */
  protected zerosBuffer(state: ParamState, name: string, param: Tensor): Tensor {
    return this.buffer(state, name, () => zerosLike(param));
  }

  /**
   * A copy of the optimizer's state: the tensors are new copies the caller owns (registered
   * with the current scope), the meta is plain JSON.
   */
  stateDict(): OptimizerState {
    const tensors = new Map<string, Tensor>();
    const params: SavedParam[] = this.#params.map((p, i) => {
      const state = this.#state[i];
      const names = state ? [...state.buffers.keys()] : [];
      for (const name of names) tensors.set(stateTensorName(i, name), state!.buffers.get(name)!.clone());
      return { shape: [...p.shape], step: state?.step ?? 0, buffers: names };
    });
    const groups: SavedGroup[] = this.groups.map((g) => ({ name: g.name, size: g.params.length, hyper: this.#hyperOf(g) }));
    return { tensors, meta: { format: STATE_FORMAT, optimizer: this.#kind, groups, params } };
  }

  /**
   * Restore state saved by stateDict(), hyperparameters included. Everything is checked before
   * anything changes; the given tensors are copied, not taken.
   */
  loadStateDict(saved: OptimizerState): void {
    const { tensors, meta } = saved;
    const kind = this.#kind;
    const problem = malformation(meta);
    if (problem) throw new Error(`${kind}: the saved optimizer state is malformed: ${problem}`);
    if (meta.format !== STATE_FORMAT) throw new Error(`${kind}: unknown optimizer state format '${String(meta.format)}' (expected '${STATE_FORMAT}')`);
    if (meta.optimizer !== kind) throw new Error(`${kind}: the saved state belongs to a '${meta.optimizer}' optimizer`);
    if (meta.groups.length !== this.groups.length) {
      throw new Error(`${kind}: the saved state has ${meta.groups.length} parameter groups, this optimizer has ${this.groups.length}`);
    }
    const hypers = this.groups.map((group, g) => {
      const savedGroup = meta.groups[g]!;
      if (savedGroup.size !== group.params.length) {
        throw new Error(`${groupLabel(kind, group)}: the saved group '${savedGroup.name}' has ${savedGroup.size} parameters, this one has ${group.params.length}`);
      }
      return this.#checkedHyper(group, savedGroup.hyper);
    });
    if (meta.params.length !== this.#params.length) {
      throw new Error(`${kind}: the saved state has ${meta.params.length} parameters, this optimizer has ${this.#params.length}`);
    }
    const expected = new Set<string>();
    this.#params.forEach((p, i) => {
      const savedParam = meta.params[i]!;
      if (!sameShape(savedParam.shape, p.shape)) {
        throw new Error(`${kind}: parameter ${i} has shape [${p.shape.join(', ')}], the saved state has [${savedParam.shape.join(', ')}]`);
      }
      if (!Number.isInteger(savedParam.step) || savedParam.step < 0) throw new Error(`${kind}: parameter ${i} has a bad step count ${savedParam.step}`);
      for (const name of savedParam.buffers) {
        const key = stateTensorName(i, name);
        const t = tensors.get(key);
        if (t === undefined) throw new Error(`${kind}: the saved state lacks tensor '${key}'`);
        if (!sameShape(t.shape, p.shape)) {
          throw new Error(`${kind}: tensor '${key}' has shape [${t.shape.join(', ')}], parameter ${i} has [${p.shape.join(', ')}]`);
        }
        expected.add(key);
      }
    });
    for (const key of tensors.keys()) if (!expected.has(key)) throw new Error(`${kind}: unexpected tensor '${key}' in the saved state`);

    // All checked: replace.
    this.groups.forEach((group, g) => {
      Object.assign(group, hypers[g]);
      group.name = meta.groups[g]!.name;
    });
    this.#disposeState();
    this.#state = this.#params.map((p, i) => {
      const savedParam = meta.params[i]!;
      if (savedParam.step === 0 && savedParam.buffers.length === 0) return undefined;
      const buffers = new Map<string, Tensor>();
      // copy_ converts to the parameter's dtype and device (a checkpoint is read onto the CPU).
      for (const name of savedParam.buffers) {
        buffers.set(name, keep(noGrad(() => zerosLike(p).copy_(tensors.get(stateTensorName(i, name))!))));
      }
      return { step: savedParam.step, buffers };
    });
  }

  /** Free the state tensors; the optimizer starts from empty state if stepped again. */
  dispose(): void {
    this.#disposeState();
    this.#state = new Array<ParamState | undefined>(this.#params.length);
  }

  #disposeState(): void {
    for (const state of this.#state) if (state) dispose([...state.buffers.values()]);
  }

  #makeGroup(spec: ParamGroupSpec<H>, index: number, defaults: H): ParamGroup<H> {
    if (!Array.isArray(spec.params)) throw new Error(`${this.#kind}: group ${index} has no 'params' array`);
    const known = new Set<string>(['params', 'name', ...this.#hyperKeys]);
    for (const key of Object.keys(spec)) {
      if (!known.has(key)) throw new Error(`${this.#kind}: group ${index} has unknown option '${key}'; known: ${[...known].join(', ')}`);
    }
    const given = hyperRecord(spec);
    const hyper: H = { ...defaults };
    const fields = hyperRecord(hyper);
    for (const key of this.#hyperKeys) if (given[key] !== undefined) fields[key] = copyHyper(given[key]);
    return { ...hyper, name: spec.name ?? `group${index}`, params: [...spec.params] };
  }

  #hyperOf(group: ParamGroup<H>): Record<string, HyperValue> {
    const values = hyperRecord(group);
    const out: Record<string, HyperValue> = {};
    for (const key of this.#hyperKeys) out[key] = copyHyper(values[key]!);
    return out;
  }

  /** Saved hyperparameters after checking each has the type this optimizer uses. */
  #checkedHyper(group: ParamGroup<H>, saved: Record<string, HyperValue>): Partial<H> {
    const current = hyperRecord(group);
    const out: Record<string, HyperValue> = {};
    const label = groupLabel(this.#kind, group);
    for (const key of this.#hyperKeys) {
      const value = saved[key];
      if (value === undefined) throw new Error(`${label}: the saved state lacks hyperparameter '${key}'`);
      if (!sameKind(current[key]!, value)) {
        throw new Error(`${label}: saved hyperparameter '${key}' = ${JSON.stringify(value)} does not fit ${JSON.stringify(current[key])}`);
      }
      out[key] = copyHyper(value);
    }
    this.validateHyper({ ...group, ...out }, `${label} (saved state)`);
    return out as Partial<H>;
  }
}

/** Hyperparameters seen by name (the optimizer knows their keys only at run time). */
function hyperRecord(o: object): Record<string, HyperValue | undefined> {
  return o as Record<string, HyperValue | undefined>;
}

function isTensorList<H extends BaseHyper>(params: readonly Tensor[] | readonly ParamGroupSpec<H>[]): params is readonly Tensor[] {
  return params.length > 0 && !('params' in params[0]!);
}

function groupLabel(kind: string, group: { name: string }): string {
  return `${kind} group '${group.name}'`;
}

/** Shared checks for the hyperparameters of BaseHyper. */
export function checkBaseHyper(hyper: BaseHyper, where: string): void {
  checkNonNegative(hyper.lr, 'lr', where);
  checkNonNegative(hyper.weightDecay, 'weightDecay', where);
}

export function checkNonNegative(value: number, name: string, where: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${where}: ${name} must be a finite number >= 0, got ${String(value)}`);
  }
}
