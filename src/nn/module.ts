// Module: a tree of layers that owns named parameters (trainable leaf tensors) and buffers (state
// such as running statistics). Names are dot-joined paths in registration order, as in PyTorch, so
// state dicts line up with torchvision's.
import { isDType, isFloating, keep, noGrad, type DType, type Tensor } from '../torch/index.js';
import { checkStateDict, StateDictError, type LoadReport } from './state-dict.js';

export interface LoadOptions {
  /** Throw one StateDictError unless names and shapes match exactly (default true). */
  strict?: boolean;
}

export abstract class Module<In = Tensor, Out = Tensor> {
  #training = true;
  readonly #parameters = new Map<string, Tensor>();
  readonly #buffers = new Map<string, Tensor>();
  // The key '' holds an inline child: its names join this module's without a prefix, which lets a
  // wrapper (an embedding model around a backbone, a multi-branch BN around its main branch) keep
  // the wrapped module's torchvision names.
  readonly #children = new Map<string, Module<unknown, unknown>>();

  abstract forward(input: In): Out;

  // ---- registration -------------------------------------------------------------------------------
  /** Adopt `value` as a trainable parameter: a leaf that requires grad and that no scope frees. */
  protected registerParameter(name: string, value: Tensor): Tensor {
    this.#checkFreeName(name);
    keep(value);
    if (!value.isLeaf) throw new Error(`registerParameter('${name}'): a parameter must be a leaf tensor (detach it first)`);
    if (isFloating(value.dtype) && !value.requiresGrad) value.setRequiresGrad(true);
    this.#parameters.set(name, value);
    return value;
  }

  /** Adopt `value` as a buffer: saved in the state dict, never trained. */
  protected registerBuffer(name: string, value: Tensor): Tensor {
    this.#checkFreeName(name);
    keep(value);
    this.#buffers.set(name, value);
    return value;
  }

  protected registerModule<M extends Module<unknown, unknown>>(name: string, module: M): M {
    if (name !== '') this.#checkFreeName(name);
    else if (this.#children.has('')) throw new Error(`${this.constructor.name}: only one inline child is allowed`);
    this.#children.set(name, module);
    return module;
  }

  #checkFreeName(name: string): void {
    if (!name || name.includes('.')) throw new Error(`${this.constructor.name}: bad member name '${name}' (non-empty, no dots)`);
    if (this.#parameters.has(name) || this.#buffers.has(name) || this.#children.has(name)) {
      throw new Error(`${this.constructor.name}: '${name}' is already registered`);
    }
  }

  /** The current parameter `name` of this module (not of its children). */
  protected param(name: string): Tensor {
    const t = this.#parameters.get(name);
    if (!t) throw new Error(`${this.constructor.name} has no parameter '${name}'`);
    return t;
  }

  protected buffer(name: string): Tensor {
    const t = this.#buffers.get(name);
    if (!t) throw new Error(`${this.constructor.name} has no buffer '${name}'`);
    return t;
  }

  /**
   * The current child `name`. Forward passes look children up here on every call, so a child
   * swapped by setChild (e.g. BatchNorm2d by a multi-branch BN) takes effect everywhere.
   */
  child<M extends Module<unknown, unknown> = Module>(name: string): M {
    const m = this.#children.get(name);
    if (!m) throw new Error(`${this.constructor.name} has no child '${name}'`);
    return m as M;
  }

  /** Replace an existing child (same name, so state-dict names are unchanged). Returns the old one. */
  setChild(name: string, module: Module<unknown, unknown>): Module<unknown, unknown> {
    const old = this.#children.get(name);
    if (!old) throw new Error(`${this.constructor.name} has no child '${name}' to replace`);
    this.#children.set(name, module);
    return old;
  }

  // ---- traversal ----------------------------------------------------------------------------------
  /** Direct children with their names ('' for an inline child). */
  namedChildren(): [string, Module<unknown, unknown>][] {
    return [...this.#children.entries()];
  }

  /** This module and every descendant, pre-order, with dotted names ('' for the root). */
  namedModules(prefix = ''): [string, Module<unknown, unknown>][] {
    const out: [string, Module<unknown, unknown>][] = [[prefix, this]];
    for (const [name, child] of this.#children) out.push(...child.namedModules(join(prefix, name)));
    return out;
  }

  /** Parameters of this module, then of each child in order, with dotted names. */
  namedParameters(): [string, Tensor][] {
    return this.#collect((m) => m.#parameters);
  }

  namedBuffers(): [string, Tensor][] {
    return this.#collect((m) => m.#buffers);
  }

  /** The live parameter tensors (optimizers update them in place); do not dispose them. */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  #collect(pick: (m: Module<unknown, unknown>) => Map<string, Tensor>): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, t] of pick(m)) out.push([join(prefix, name), t]);
    }
    return out;
  }

  /** Parameters and buffers in PyTorch's state-dict order: per module, its parameters then its buffers. */
  #namedState(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, t] of m.#parameters) out.push([join(prefix, name), t]);
      for (const [name, t] of m.#buffers) out.push([join(prefix, name), t]);
    }
    return out;
  }

  // ---- state dict ---------------------------------------------------------------------------------
  /**
   * Every parameter and buffer by name, as detached aliases sharing the module's storage. The
   * aliases belong to the caller (or the enclosing tidy scope): dispose them, not the module.
   */
  stateDict(): Map<string, Tensor> {
    return new Map(this.#namedState().map(([name, t]) => [name, t.detach()]));
  }

  /**
   * Copy values from `state` into the module's tensors (converting dtype and device). Strict mode
   * (the default) throws one StateDictError naming every missing key, unexpected key and shape
   * mismatch, and changes nothing; non-strict mode loads what fits and returns the rest.
   */
  loadStateDict(state: ReadonlyMap<string, Tensor>, options: LoadOptions = {}): LoadReport {
    const own = new Map(this.#namedState());
    const report = checkStateDict(own, state);
    const clean = !report.missing.length && !report.unexpected.length && !report.mismatched.length;
    if ((options.strict ?? true) && !clean) throw new StateDictError(report);
    const mismatched = new Set(report.mismatched.map((m) => m.name));
    noGrad(() => {
      for (const [name, target] of own) {
        const source = state.get(name);
        if (source && !mismatched.has(name)) target.copy_(source);
      }
    });
    return report;
  }

  // ---- mode, placement, lifetime ------------------------------------------------------------------
  get training(): boolean {
    return this.#training;
  }

  /** Switch this module and all descendants to training (true) or evaluation (false) mode. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.#training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /**
   * Move every parameter and buffer to a device ('cpu', 'cuda', ...) or convert floating ones to a
   * dtype. Tensors are replaced (gradients are dropped); parameters stay trainable leaves.
   */
  to(target: DType | string): this {
    const isDtype = isDType(target);
    noGrad(() => {
      for (const [, m] of this.namedModules()) {
        m.releaseDerived();
        for (const map of [m.#parameters, m.#buffers]) {
          for (const [name, t] of map) {
            if (isDtype && !isFloating(t.dtype)) continue;
            const converted = t.to(target);
            const moved = keep(converted.detach());
            converted.dispose();
            if (map === m.#parameters) moved.setRequiresGrad(t.requiresGrad);
            map.set(name, moved);
            t.dispose();
          }
        }
      }
    });
    return this;
  }

  /** Drop every parameter's accumulated gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /**
   * Frees what a module derives from its tensors and keeps (a layer's cast copies of its weights),
   * when the tensors are replaced or disposed. Nothing by default.
   */
  protected releaseDerived(): void {}

  /** Free every parameter and buffer of the tree; the module is unusable afterwards. */
  dispose(): void {
    for (const [, m] of this.namedModules()) {
      m.releaseDerived();
      for (const t of m.#parameters.values()) t.dispose();
      for (const t of m.#buffers.values()) t.dispose();
    }
  }
}

function join(prefix: string, name: string): string {
  if (!prefix) return name;
  return name ? `${prefix}.${name}` : prefix;
}

