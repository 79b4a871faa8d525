// One training step of a method: build each auxiliary distribution from its slice of the batch
// (eval mode, its own BN branch), then one joint forward of clean and perturbed images in train
// mode with each segment normalised by its branch, one loss over all of them, one optimizer step.
import { BatchNorm2d, bnBranchCount, computeDtypeOf, MultiBatchNorm2d, setBnRouting, withFrozenParameters, withoutRunningStatUpdates, type BnSegment, type EmbeddingModel } from '../nn/index.js';
import { cat, tidy, type Tensor } from '../torch/index.js';
import { defenseLoss, freshDefenseMemory, type DefenseMemory } from './defenses.js';
import { makeDistribution, makeDistributions, type DistributionDraws, type DistributionJob } from './distributions.js';
import { partRows, type MethodSpec } from './spec.js';

/** What the step needs of a loss (src/dml's DmlLoss fits). */
export interface Criterion {
  compute(embeddings: Tensor, labels: Tensor, context?: { features?: Tensor }): Tensor;
}

/** What the step needs of an optimizer (src/optim's fit). */
export interface StepOptimizer {
  zeroGrad(): void;
  step(): void;
}

/** The rows of a joint forward that enter the loss. */
export interface StepRows {
  embedding: Tensor;
  labels: Tensor;
  features: Tensor;
}

/**
 * What data-parallel training adds to a step (src/parallel implements it): the loss sees the rows
 * of every rank, and the gradients are made equal across ranks before the optimizer steps.
 */
export interface StepSync {
  /** All ranks' rows in rank order; this rank's keep their graph, the others' are constants. */
  gather(local: StepRows): StepRows;
  /** The backward pass of `loss`, leaving every rank with the same gradients. */
  backward(loss: Tensor): void;
}

/** What the step needs of a loss scale (float16 training; src/optim's DynamicLossScale fits). */
export interface StepLossScale {
  readonly scale: number;
  /** Divides the gradients by the scale; false when they overflowed (the step is then skipped). */
  unscale(): boolean;
}

export interface StepContext {
  model: EmbeddingModel;
  method: MethodSpec;
  criterion: Criterion;
  optimizer: StepOptimizer;
  /** What a defense carries between steps (HM's last loss); a fresh one per step when left out. */
  memory?: DefenseMemory;
  /** Data-parallel training; absent when one process trains. */
  sync?: StepSync;
  /** float16 training's loss scale; absent in float32 and bfloat16. */
  lossScale?: StepLossScale;
  /**
   * The MDProp authors' nn.DataParallel replicas, in one process: the batch is cut into this many
   * chunks (see replicaChunks), each makes its attacks and its mixed-BN forward alone, and the
   * running statistics kept are the first chunk's. 1 (or absent): one replica.
   */
  bnReplicas?: number;
}

export interface StepResult {
  loss: number;
  /** Samples that entered the joint forward, per BN branch (index = branch). */
  samplesPerBranch: number[];
  /** With a loss scale: false when the gradients overflowed and the optimizer step was skipped. */
  applied?: boolean;
}

/** The loss became NaN or infinite; the step was not applied. */
export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
  constructor(readonly value: number) {
    super(`the loss is ${value}; stopping before the optimizer step (lower the learning rate or check the data)`);
  }
}

interface Piece {
  images: Tensor;
  labels: Tensor;
  branch: number;
}

/** Pieces ordered by branch, adjacent same-branch pieces merged into one segment (one set of batch statistics). */
function segmentsOf(pieces: readonly Piece[]): BnSegment[] {
  const segments: BnSegment[] = [];
  for (const p of pieces) {
    const last = segments[segments.length - 1];
    if (last && last.branch === p.branch) last.size += p.images.shape[0]!;
    else segments.push({ size: p.images.shape[0]!, branch: p.branch });
  }
  return segments;
}

/**
 * Whether to make every distribution in one routed pass rather than one pass each: on GPUs, where
 * a larger pass fills the device better, and on a CPU with 16-bit activations (`halfActivations`).
 * In float32 on a CPU the routed pass only enlarges the working set: bench/step-profile.js measured
 * it 1.33x slower than one pass per distribution for ResNet-50 at 224x224 batch 16, and no faster
 * for ResNet-18 at 64x64 batch 32 (with a larger peak memory). In bfloat16, with half the bytes per
 * activation, it measured 0.85x the time for ResNet-18 and 1.0x for ResNet-50 (README).
 */
export function jointAttackPays(jobs: readonly DistributionJob[], halfActivations = false): boolean {
  return jobs.length > 1 && (halfActivations || !jobs[0]!.images.device.startsWith('cpu'));
}

/** Each distribution of the method with its slice of the batch (views, no copies). */
export function distributionJobs(method: MethodSpec, images: Tensor, labels: Tensor, draws: readonly (DistributionDraws | undefined)[] = []): DistributionJob[] {
  const size = images.shape[0]!;
  return method.distributions.map((spec, i) => {
    const [start, end] = partRows(spec.part, size);
    return { spec, images: images.narrow(0, start, end - start), labels: labels.narrow(0, start, end - start), draws: draws[i] };
  });
}

/**
 * Builds the auxiliary distributions of a batch (model left in eval mode). `draws[i]`, when given,
 * fixes the random draws of `method.distributions[i]`.
 */
export function buildPieces(model: EmbeddingModel, method: MethodSpec, images: Tensor, labels: Tensor, draws: readonly (DistributionDraws | undefined)[] = []): Piece[] {
  model.eval();
  const jobs = distributionJobs(method, images, labels, draws);
  // Attacks take gradients with respect to their input only: the weights stay out of the graph.
  // Both ways give the same examples, draw for draw; only the time differs.
  const made = withFrozenParameters(model, () =>
    jointAttackPays(jobs, computeDtypeOf(model) !== null) ? makeDistributions(model, jobs) : jobs.map((j) => makeDistribution(model, j.spec, j.images, j.labels, j.draws)),
  );
  const extra = jobs.map((j, i) => ({ images: made[i]!, labels: j.labels, branch: j.spec.branch }));
  return [{ images, labels, branch: 0 }, ...extra.sort((a, b) => a.branch - b.branch)];
}

/** Whether any batch norm is in the model (a network without, such as c2f2, has no branches to route). */
function hasBatchNorm(model: EmbeddingModel): boolean {
  return model.namedModules().some(([, m]) => m instanceof BatchNorm2d || m instanceof MultiBatchNorm2d);
}

/** A defense's step: its own adversarial examples and loss, one optimizer step. */
function defenseStep(ctx: StepContext, images: Tensor, labels: Tensor): StepResult {
  const { model, method, criterion, optimizer } = ctx;
  if (ctx.sync) throw new Error(`method '${method.name}' is a defense, which trains in one process, not data-parallel`);
  return tidy(() => {
    const loss = defenseLoss(model, method.defense!, criterion, images, labels, ctx.memory ?? freshDefenseMemory());
    const value = loss.item();
    if (!Number.isFinite(value)) throw new NonFiniteLossError(value);
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    return { loss: value, samplesPerBranch: [images.shape[0]!] };
  });
}

/**
 * The rows [start, end) of each replica's chunk, as nn.DataParallel scatters a batch (torch.chunk):
 * chunks of ceil(B / R) rows, the last one what remains (64 over 3: 22, 22, 20; 112 over 3: 38,
 * 38, 36); fewer than R chunks when B is too small to give every replica a row.
 */
export function replicaChunks(size: number, replicas: number): [number, number][] {
  if (!Number.isInteger(replicas) || replicas < 1) throw new RangeError(`bnReplicas must be a positive integer, got ${replicas}`);
  const per = Math.ceil(size / replicas);
  const out: [number, number][] = [];
  for (let start = 0; start < size; start += per) out.push([start, Math.min(size, start + per)]);
  return out;
}

/**
 * The joint forward of the replicas: each chunk's pieces through the model alone (every segment
 * normalised with its own chunk's batch statistics), outputs concatenated in chunk order as
 * DataParallel gathers them. Only the first chunk moves the running statistics: DataParallel keeps
 * replica 0's.
 */
function replicaForward(model: EmbeddingModel, chunks: readonly Piece[][]): { embedding: Tensor; labels: Tensor; features: Tensor; segments: BnSegment[] } {
  const outputs: { embedding: Tensor; features: Tensor }[] = [];
  const all: BnSegment[] = [];
  chunks.forEach((pieces, r) => {
    const segments = segmentsOf(pieces);
    all.push(...segments);
    setBnRouting(model, segments.length > 1 ? { kind: 'segments', segments } : { kind: 'branch', branch: 0 });
    const forward = () => model.forwardAll(pieces.length > 1 ? cat(pieces.map((p) => p.images)) : pieces[0]!.images);
    const out = r === 0 ? forward() : withoutRunningStatUpdates(model, forward);
    outputs.push({ embedding: out.embedding, features: out.features });
  });
  return {
    embedding: cat(outputs.map((o) => o.embedding)),
    features: cat(outputs.map((o) => o.features)),
    labels: cat(chunks.flatMap((pieces) => pieces.map((p) => p.labels))),
    segments: all,
  };
}

/** One step; `draws` as for buildPieces (tests replaying a reference step; training leaves it out). With replicas, `draws[r]` are chunk r's. */
export function methodStep(ctx: StepContext, images: Tensor, labels: Tensor, draws?: readonly (DistributionDraws | undefined)[] | readonly (readonly (DistributionDraws | undefined)[])[]): StepResult {
  const { model, method, criterion, optimizer, sync, lossScale } = ctx;
  const replicas = ctx.bnReplicas ?? 1;
  if (method.branches > 1 && hasBatchNorm(model) && bnBranchCount(model) !== method.branches) {
    throw new Error(`method '${method.name}' needs ${method.branches} BN branches, the model has ${bnBranchCount(model)}`);
  }
  if (images.shape[0] !== labels.shape[0]) {
    throw new Error(`methodStep: ${images.shape[0]} images but ${labels.shape[0]} labels`);
  }
  if (method.defense !== undefined) {
    if (replicas > 1) throw new Error(`method '${method.name}' is a defense; bnReplicas (the MDProp authors' replicas) applies to methods of distributions`);
    return defenseStep(ctx, images, labels);
  }
  if (replicas > 1 && sync) throw new Error('bnReplicas splits the batch of one process; it cannot be combined with data-parallel training');
  try {
    return tidy(() => {
      let local: StepRows;
      let segments: BnSegment[];
      if (replicas > 1) {
        // Every replica makes its attacks with the same (current) running statistics before any of them trains.
        const chunks = replicaChunks(images.shape[0]!, replicas).map(([start, end], r) =>
          buildPieces(model, method, images.narrow(0, start, end - start), labels.narrow(0, start, end - start), (draws?.[r] as readonly (DistributionDraws | undefined)[] | undefined) ?? []),
        );
        model.train();
        const joint = replicaForward(model, chunks);
        local = { embedding: joint.embedding, labels: joint.labels, features: joint.features };
        segments = joint.segments;
      } else {
        const pieces = buildPieces(model, method, images, labels, draws as readonly (DistributionDraws | undefined)[] | undefined);
        model.train();
        segments = segmentsOf(pieces);
        setBnRouting(model, segments.length > 1 ? { kind: 'segments', segments } : { kind: 'branch', branch: 0 });
        const allImages = pieces.length > 1 ? cat(pieces.map((p) => p.images)) : images;
        const allLabels = pieces.length > 1 ? cat(pieces.map((p) => p.labels)) : labels;
        const out = model.forwardAll(allImages);
        local = { embedding: out.embedding, labels: allLabels, features: out.features };
      }
      const rows = sync ? sync.gather(local) : local;
      const loss = criterion.compute(rows.embedding, rows.labels, { features: rows.features });
      const value = loss.item();
      if (!Number.isFinite(value)) throw new NonFiniteLossError(value);
      optimizer.zeroGrad();
      const scaled = lossScale ? loss.mul(lossScale.scale) : loss;
      if (sync) sync.backward(scaled);
      else scaled.backward();
      const applied = lossScale ? lossScale.unscale() : true;
      if (applied) optimizer.step();
      else optimizer.zeroGrad();
      const samplesPerBranch = new Array<number>(Math.max(1, method.branches)).fill(0);
      for (const s of segments) samplesPerBranch[s.branch]! += s.size;
      return { loss: value, samplesPerBranch, ...(lossScale ? { applied } : {}) };
    });
  } finally {
    setBnRouting(model, { kind: 'branch', branch: 0 });
  }
}
