// Multi-branch batch norm (the disentangled learning of AdvProp/MDProp): K BatchNorm2d branches,
// each with its own scale, shift and running statistics. Branch 0 normalises clean data and keeps
// torchvision's names (it is the inline child), branches 1..K-1 are `aux.0`, `aux.1`, ... A routing
// state sends the whole input through one branch, or consecutive segments through their branches.
import { cat, tidy, type Tensor } from '../torch/index.js';
import { BatchNorm2d, copyBatchNorm } from './batchnorm.js';
import { Sequential } from './layers.js';
import { Module } from './module.js';
import { replaceBatchNorms } from './replace.js';

/** One branch for everything, or segments [size, branch] in batch order. */
export type BnRouting = { kind: 'branch'; branch: number } | { kind: 'segments'; segments: readonly BnSegment[] };

export interface BnSegment {
  size: number;
  branch: number;
}

export class MultiBatchNorm2d extends Module {
  #routing: BnRouting = { kind: 'branch', branch: 0 };

  /** Wraps `main` as branch 0 and adds `branches - 1` copies of it. */
  constructor(main: BatchNorm2d, readonly branches: number) {
    super();
    if (!Number.isInteger(branches) || branches < 1) throw new RangeError(`MultiBatchNorm2d: branches must be a positive integer, got ${branches}`);
    this.registerModule('', main);
    const aux: BatchNorm2d[] = [];
    for (let k = 1; k < branches; k++) {
      const { numFeatures, ...options } = main.config;
      const copy = new BatchNorm2d(numFeatures, options);
      copyBatchNorm(main, copy);
      aux.push(copy);
    }
    this.registerModule('aux', new Sequential(...aux));
  }

  /** Branch k's batch norm (0 = main). */
  branch(k: number): BatchNorm2d {
    if (!Number.isInteger(k) || k < 0 || k >= this.branches) {
      throw new RangeError(`MultiBatchNorm2d: branch ${k} does not exist (branches 0..${this.branches - 1})`);
    }
    return k === 0 ? this.child<BatchNorm2d>('') : (this.child<Sequential>('aux').at(k - 1) as BatchNorm2d);
  }

  get routing(): BnRouting {
    return this.#routing;
  }

  set routing(routing: BnRouting) {
    if (routing.kind === 'branch') this.branch(routing.branch);
    else {
      if (routing.segments.length === 0) throw new RangeError('MultiBatchNorm2d: segment routing needs at least one segment');
      for (const s of routing.segments) {
        this.branch(s.branch);
        if (!Number.isInteger(s.size) || s.size < 1) throw new RangeError(`MultiBatchNorm2d: segment size must be a positive integer, got ${s.size}`);
      }
    }
    this.#routing = routing;
  }

  /** Reset every auxiliary branch to a copy of branch 0 (after loading pretrained weights). */
  syncAuxFromMain(): void {
    for (let k = 1; k < this.branches; k++) copyBatchNorm(this.branch(0), this.branch(k));
  }

  forward(x: Tensor): Tensor {
    const routing = this.#routing;
    if (routing.kind === 'branch') return this.branch(routing.branch).forward(x);
    const total = routing.segments.reduce((a, s) => a + s.size, 0);
    if (total !== x.shape[0]) {
      throw new Error(`MultiBatchNorm2d: segments cover ${total} samples but the input has ${x.shape[0]} ([${x.shape.join(', ')}])`);
    }
    // Each segment gets its own batch statistics (and, in training, moves only its branch's running ones).
    return tidy(() => {
      const parts = x.split(routing.segments.map((s) => s.size), 0);
      return cat(parts.map((part, i) => this.branch(routing.segments[i]!.branch).forward(part)), 0);
    });
  }
}

/** Every MultiBatchNorm2d under `root`. */
export function multiBatchNorms(root: Module<unknown, unknown>): MultiBatchNorm2d[] {
  return root.namedModules().flatMap(([, m]) => (m instanceof MultiBatchNorm2d ? [m] : []));
}

/**
 * Turn every BatchNorm2d of `model` into a K-branch MultiBatchNorm2d (in place; branch 0 is the
 * original layer, so its weights and names stay). With K = 1 the model is left as it is.
 */
export function convertToMultiBatchNorm<M extends Module<unknown, unknown>>(model: M, branches: number): M {
  if (branches > 1) replaceBatchNorms(model, (bn) => new MultiBatchNorm2d(bn, branches));
  return model;
}

/** Route every multi-branch BN of the model the same way. */
export function setBnRouting(model: Module<unknown, unknown>, routing: BnRouting): void {
  for (const m of multiBatchNorms(model)) m.routing = routing;
}

/** Copy branch 0 into every auxiliary branch, model-wide (after loading pretrained weights). */
export function syncAuxBranches(model: Module<unknown, unknown>): void {
  for (const m of multiBatchNorms(model)) m.syncAuxFromMain();
}

/**
 * Reset the running statistics of every auxiliary branch, model-wide, keeping their copied scale
 * and shift: how the MDProp authors' code starts its auxiliary BNs (it copies parameters only).
 */
export function resetAuxRunningStats(model: Module<unknown, unknown>): void {
  for (const m of multiBatchNorms(model)) for (let k = 1; k < m.branches; k++) m.branch(k).resetRunningStats();
}

/** The number of BN branches of a model (1 when it has no multi-branch BN). */
export function bnBranchCount(model: Module<unknown, unknown>): number {
  const all = multiBatchNorms(model);
  return all.length ? all[0]!.branches : 1;
}
