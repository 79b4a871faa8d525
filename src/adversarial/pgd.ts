// Feature-space projected gradient descent: perturb images so that their embeddings move towards
// target embeddings (targeted: STAX with one target set, MTAX with several) or away from their own
// clean embedding (untargeted). Sign steps of eps/iters inside an L-infinity box (or L2 steps in an
// L2 ball), clipped to the valid input range. Only input gradients are taken.
import * as T from '../torch/index.js';
import { noGrad, tidy, type Tensor } from '../torch/index.js';

/** The model as the attack sees it: images in, embeddings out (routed and in eval mode already). */
export type EmbedFn = (images: Tensor) => Tensor;

export type AttackGoal =
  /** Pull each embedding towards its targets: L = ((1/T) sum_j mean_i ||t_j,i - f(x)_i||)^2, minimised. */
  | { kind: 'targeted'; targets: readonly Tensor[] }
  /** Push each embedding away from its clean embedding: L = mean_i ||f(x)_i - e_i||, maximised. */
  | { kind: 'untargeted'; clean: Tensor }
  /** Any differentiable objective of the embeddings (the ranking attacks), minimised or maximised. */
  | { kind: 'objective'; loss: (embeddings: Tensor) => Tensor; direction: 'minimise' | 'maximise' };

/** The valid input range: the batch's own min and max (as the method does), or fixed bounds. */
export type InputRange = { kind: 'batch' } | { kind: 'fixed'; min: number | Tensor; max: number | Tensor };

export interface PgdOptions {
  /**
   * Budget in input units (normalized-input space unless the caller converts), one number, or one
   * per channel (a pixel budget divided by each channel's std; L-infinity only).
   */
  eps: number | readonly number[];
  iters: number;
  /** Step per iteration, one number or one per channel (L-infinity only); eps / iters by default. */
  stepSize?: number | readonly number[];
  /** Half-width of the uniform random start; 5e-4 by default, 0 for none. */
  randomStart?: number;
  /**
   * The random start itself, shaped like the images, in place of a fresh uniform draw (so a
   * reference computation made elsewhere can be replayed exactly). `randomStart` is then unused.
   */
  startNoise?: Tensor;
  norm?: 'linf' | 'l2';
  range?: InputRange;
}

/** The attack objective for one batch of embeddings. */
export function attackObjective(embeddings: Tensor, goal: AttackGoal): Tensor {
  return tidy(() => {
    if (goal.kind === 'objective') return goal.loss(embeddings);
    if (goal.kind === 'targeted') {
      if (goal.targets.length === 0) throw new Error('targeted attack: no target sets given');
      let total: Tensor | null = null;
      for (const t of goal.targets) {
        if (t.shape[0] !== embeddings.shape[0]) {
          throw new Error(`targeted attack: targets of shape [${t.shape.join(', ')}] do not match embeddings [${embeddings.shape.join(', ')}]`);
        }
        const d = embeddings.sub(t).norm(2, 1).mean();
        total = total === null ? d : total.add(d);
      }
      return total!.div(goal.targets.length).square();
    }
    return embeddings.sub(goal.clean).norm(2, 1).mean();
  });
}

/** Lower and upper bounds of the L-infinity box around x, intersected with the input range. */
function boxBounds(x: Tensor, eps: number | Tensor, range: InputRange): { lo: Tensor; hi: Tensor } {
  return tidy(() => {
    const [min, max] = range.kind === 'batch' ? [x.min(), x.max()] : [range.min, range.max];
    const lo = x.sub(eps);
    const hi = x.add(eps);
    return {
      lo: typeof min === 'number' ? lo.clampMin(min) : lo.maximum(min),
      hi: typeof max === 'number' ? hi.clampMax(max) : hi.minimum(max),
    };
  });
}

/** The valid input range as two tensors shaped like x (the batch's own min and max, or fixed bounds). */
function rangeBounds(x: Tensor, range: InputRange): { lo: Tensor; hi: Tensor } {
  return tidy(() => {
    const [min, max] = range.kind === 'batch' ? [x.min(), x.max()] : [range.min, range.max];
    const lo = typeof min === 'number' ? T.full([...x.shape], min, { device: x.device }) : T.zerosLike(x).add(min);
    const hi = typeof max === 'number' ? T.full([...x.shape], max, { device: x.device }) : T.zerosLike(x).add(max);
    return { lo, hi };
  });
}

/** Rescale each sample's perturbation to L2 norm at most its eps (one per row, [N]). */
function projectL2(delta: Tensor, eps: Tensor): Tensor {
  return tidy(() => {
    const n = delta.flatten(1).norm(2, 1).clampMin(1e-12);
    const factor = n.reciprocal().mul(eps).clampMax(1);
    return delta.mul(factor.reshape([-1, ...new Array<number>(delta.ndim - 1).fill(1)]));
  });
}

/** The random start to add to x: the given noise, or a uniform draw of half-width randomStart. */
export function drawStartNoise(x: Tensor, options: PgdOptions): Tensor | number {
  const given = options.startNoise;
  if (given) {
    if (given.shape.length !== x.shape.length || given.shape.some((d, i) => d !== x.shape[i])) {
      throw new RangeError(`attack start noise of shape [${given.shape.join(', ')}] does not match images [${x.shape.join(', ')}]`);
    }
    return given.to(x.device);
  }
  const half = options.randomStart ?? 5e-4;
  return half > 0 ? T.uniform([...x.shape], -half, half, { device: x.device }) : 0;
}

function isZeroBudget(eps: number | readonly number[]): boolean {
  return typeof eps === 'number' ? eps === 0 : eps.every((e) => e === 0);
}

/**
 * The options with their random start drawn now, so a caller that draws targets too fixes the
 * order of its random draws (training and evaluation both draw targets, then the start, condition
 * by condition). Given noise stays; a zero budget or no iterations draw nothing (the start would be
 * projected away); otherwise a uniform draw of half-width randomStart, or none for 0.
 */
export function withRandomStart(x: Tensor, options: PgdOptions): PgdOptions {
  if (options.startNoise || options.iters === 0 || isZeroBudget(options.eps)) return options;
  const noise = drawStartNoise(x, options);
  return typeof noise === 'number' ? { ...options, randomStart: 0 } : { ...options, startNoise: noise };
}

/** One attack of a joint PGD run: its images, its goal, its budget. */
export interface PgdCondition {
  images: Tensor;
  goal: AttackGoal;
  options: PgdOptions;
}

/** A checked condition, with everything the joint iterations need shaped per row. */
interface ReadyCondition {
  goal: AttackGoal;
  x: Tensor;
  start: Tensor;
  /** L-infinity: the box; L2: the valid input range. Shaped like x. */
  lo: Tensor;
  hi: Tensor;
  /** Signed step per row (and channel): [n, C, 1, ...]. */
  step: Tensor;
  /** L2 only: the radius per row, [n]. */
  radius: Tensor | null;
}

/** Validates one condition; null when it takes no iterations (the images stay as they are). */
function ready(c: PgdCondition): ReadyCondition | null {
  const { images, goal, options } = c;
  const { iters } = options;
  const epsList = typeof options.eps === 'number' ? [options.eps] : [...options.eps];
  if (epsList.length === 0 || !epsList.every((e) => e >= 0)) throw new RangeError(`attack eps must be >= 0, got ${String(options.eps)}`);
  if (!Number.isInteger(iters) || iters < 0) throw new RangeError(`attack iterations must be a non-negative integer, got ${iters}`);
  if (iters === 0) return null;
  const norm = options.norm ?? 'linf';
  const perChannel = typeof options.eps !== 'number';
  const channels = images.shape[1]!;
  if (perChannel && norm === 'l2') throw new RangeError('an L2 attack takes one eps, not one per channel');
  if (perChannel && epsList.length !== channels) {
    throw new RangeError(`attack eps has ${epsList.length} channel values for images with ${channels} channels`);
  }
  const stepList = options.stepSize === undefined || typeof options.stepSize === 'number' ? null : [...options.stepSize];
  if (stepList && (norm === 'l2' || stepList.length !== channels || !stepList.every((v) => v >= 0))) {
    throw new RangeError(`a per-channel step size needs an L-infinity attack and one non-negative value per channel (${channels}), got ${String(options.stepSize)}`);
  }
  const range = options.range ?? { kind: 'batch' };
  // Descend towards targets (or a minimised objective), ascend away from clean (or a maximised one).
  const sign = goal.kind === 'targeted' || (goal.kind === 'objective' && goal.direction === 'minimise') ? -1 : 1;
  const x = images.detach();
  const n = x.shape[0]!;
  const trailing = new Array<number>(x.ndim - 2).fill(1);
  const eps = perChannel ? T.tensor(epsList, [1, channels, ...trailing]).to(x.device) : epsList[0]!;
  const given = stepList ? T.tensor(stepList, [1, channels, ...trailing]).to(x.device) : (options.stepSize as number | undefined);
  const stepValue = given ?? (typeof eps === 'number' ? eps / iters : eps.div(iters));
  // The step as a tensor of one value per row and channel, its direction folded in (exact: only the sign changes).
  const step = noGrad(() =>
    typeof stepValue === 'number' ? T.full([n, channels, ...trailing], sign * stepValue, { device: x.device }) : stepValue.mul(sign).expand([n, channels, ...trailing]).contiguous(),
  );
  const bounds = norm === 'linf' ? boxBounds(x, eps, range) : rangeBounds(x, range);
  // A zero budget's box has no width: the iterations run and stay at x, and no start is drawn.
  const noise = isZeroBudget(options.eps) ? 0 : drawStartNoise(x, options);
  const start = noGrad(() => {
    const moved = x.add(noise);
    return norm === 'linf' ? moved.clampTensor(bounds.lo, bounds.hi) : moved.maximum(bounds.lo).minimum(bounds.hi);
  });
  const radius = norm === 'l2' ? T.full([n], epsList[0]!, { device: x.device }) : null;
  return { goal, x, start, lo: bounds.lo, hi: bounds.hi, step, radius };
}

/**
 * Adversarial copies of `images` (detached, same shape). iters = 0 returns the images unchanged; a
 * zero budget iterates inside a box of no width (no random start), so it reproduces clean results
 * exactly.
 */
export function featurePgd(embed: EmbedFn, images: Tensor, goal: AttackGoal, options: PgdOptions): Tensor {
  return featurePgdJoint(embed, [{ images, goal, options }])[0]!;
}

/**
 * Several attacks at once: the conditions' images go through `embed` as one batch per iteration,
 * and the objective is the sum of each condition's own objective over its own rows, so every row
 * gets exactly the gradient its attack alone would give it (the embedding must treat rows
 * independently, e.g. eval-mode batch norm, or route each condition's rows itself). Conditions
 * without iterations come back unchanged; the others must share iterations and norm.
 * Random starts are drawn in condition order.
 */
export function featurePgdJoint(embed: EmbedFn, conditions: readonly PgdCondition[]): Tensor[] {
  return tidy(() => {
    const prepared = conditions.map(ready);
    const active = conditions.flatMap((c, i) => (prepared[i] ? [{ c, r: prepared[i]! }] : []));
    const out: (Tensor | null)[] = prepared.map((r, i) => (r ? null : conditions[i]!.images.detach().clone()));
    if (active.length === 0) return out as Tensor[];
    const iters = active[0]!.c.options.iters;
    const norm = active[0]!.c.options.norm ?? 'linf';
    if (active.some(({ c }) => c.options.iters !== iters || (c.options.norm ?? 'linf') !== norm)) {
      throw new RangeError(`joint PGD: every attack must take the same iterations and norm, got ${active.map(({ c }) => `${c.options.iters} (${c.options.norm ?? 'linf'})`).join(', ')}`);
    }
    const joined = <K extends 'x' | 'start' | 'lo' | 'hi' | 'step'>(key: K): Tensor => (active.length === 1 ? active[0]!.r[key] : T.cat(active.map(({ r }) => r[key])));
    const sizes = active.map(({ r }) => r.x.shape[0]!);
    const [x, lo, hi, step] = [joined('x'), joined('lo'), joined('hi'), joined('step')];
    const radius = norm === 'l2' ? T.cat(active.map(({ r }) => r.radius!)) : null;
    let adv = joined('start');
    for (let i = 0; i < iters; i++) {
      const previous = adv;
      adv = tidy(() => {
        const leaf = adv.detach().setRequiresGrad(true);
        const embeddings = embed(leaf);
        let offset = 0;
        let loss: Tensor | null = null;
        for (const [k, { r }] of active.entries()) {
          const rows = active.length === 1 ? embeddings : embeddings.narrow(0, offset, sizes[k]!);
          offset += sizes[k]!;
          const part = attackObjective(rows, r.goal);
          loss = loss === null ? part : loss.add(part);
        }
        const [g] = T.grad(loss!, [leaf]);
        return noGrad(() => {
          if (norm === 'linf') return leaf.detach().add(g!.sign().mul(step)).clampTensor(lo, hi);
          const unit = g!.div(g!.flatten(1).norm(2, 1).clampMin(1e-12).reshape([-1, ...new Array<number>(g!.ndim - 1).fill(1)]));
          const moved = leaf.detach().add(unit.mul(step));
          return x.add(projectL2(moved.sub(x), radius!)).maximum(lo).minimum(hi);
        });
      });
      previous.dispose(); // keeps one iterate alive at a time
    }
    let offset = 0;
    for (const [k, { c }] of active.entries()) {
      const i = conditions.indexOf(c);
      out[i] = active.length === 1 ? adv : adv.narrow(0, offset, sizes[k]!).contiguous();
      offset += sizes[k]!;
    }
    return out as Tensor[];
  });
}

/**
 * T target sets for a batch: embeddings of random permutations of the batch (MDProp's in-batch
 * targets). `orders`, when given, are the T permutations to use instead of libtorch's draws.
 */
export function permutedTargets(embeddings: Tensor, count: number, orders?: readonly (readonly number[])[]): Tensor[] {
  const n = embeddings.shape[0]!;
  if (orders) checkPermutations(orders, count, n);
  return tidy(() => {
    const out: Tensor[] = [];
    for (let j = 0; j < count; j++) {
      const order = orders ? T.tensor([...orders[j]!], [n], { dtype: 'int64', device: embeddings.device }) : T.randperm(n, { device: embeddings.device });
      out.push(embeddings.indexSelect(0, order));
    }
    return out;
  });
}

function checkPermutations(orders: readonly (readonly number[])[], count: number, n: number): void {
  if (orders.length !== count) throw new RangeError(`targeted attack: ${orders.length} target orders given for ${count} target sets`);
  for (const order of orders) {
    const sorted = [...order].sort((a, b) => a - b);
    if (sorted.length !== n || sorted.some((v, i) => v !== i)) throw new RangeError(`targeted attack: [${order.join(', ')}] is not a permutation of 0..${n - 1}`);
  }
}

/**
 * Convert a pixel-space budget (a fraction of the [0,1] range, e.g. 4/255) into normalized-input
 * units, one value per channel: normalisation divides channel c by std[c].
 */
export function pixelToNormalizedEps(pixelEps: number, std: readonly number[]): number[] {
  return std.map((s) => pixelEps / s);
}
