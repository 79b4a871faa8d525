// One training step of a method: build each auxiliary distribution from its slice of the batch
// (eval mode, its own BN branch), then one joint forward of clean and perturbed images in train
// mode with each segment normalised by its branch, one loss over all of them, one optimizer step.
import { bnBranchCount, setBnRouting, withFrozenParameters, type BnSegment, type EmbeddingModel } from '../nn/index.js';
import { cat, tidy, type Tensor } from '../torch/index.js';
import { makeDistributions, type DistributionDraws, type DistributionJob } from './distributions.js';
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
  lossScale?: StepLossScale;
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
 * Builds the auxiliary distributions of a batch (model left in eval mode). `draws[i]`, when given,
 * fixes the random draws of `method.distributions[i]`.
 */
export function buildPieces(model: EmbeddingModel, method: MethodSpec, images: Tensor, labels: Tensor, draws: readonly (DistributionDraws | undefined)[] = []): Piece[] {
  const size = images.shape[0]!;
  model.eval();
  const jobs: DistributionJob[] = method.distributions.map((spec, i) => {
    const [start, end] = partRows(spec.part, size);
    return { spec, images: images.narrow(0, start, end - start), labels: labels.narrow(0, start, end - start), draws: draws[i] };
  });
  // Attacks take gradients with respect to their input only: the weights stay out of the graph.
  const made = withFrozenParameters(model, () => makeDistributions(model, jobs));
  const extra = jobs.map((j, i) => ({ images: made[i]!, labels: j.labels, branch: j.spec.branch }));
  return [{ images, labels, branch: 0 }, ...extra.sort((a, b) => a.branch - b.branch)];
}

/** One step; `draws` as for buildPieces (tests replaying a reference step; training leaves it out). */
export function methodStep(ctx: StepContext, images: Tensor, labels: Tensor, draws?: readonly (DistributionDraws | undefined)[]): StepResult {
  const { model, method, criterion, optimizer, lossScale } = ctx;
  if (method.branches > 1 && bnBranchCount(model) !== method.branches) {
    throw new Error(`method '${method.name}' needs ${method.branches} BN branches, the model has ${bnBranchCount(model)}`);
  }
  if (images.shape[0] !== labels.shape[0]) {
    throw new Error(`methodStep: ${images.shape[0]} images but ${labels.shape[0]} labels`);
  }
  try {
    return tidy(() => {
      const pieces = buildPieces(model, method, images, labels, draws);
      model.train();
      const segments = segmentsOf(pieces);
      setBnRouting(model, segments.length > 1 ? { kind: 'segments', segments } : { kind: 'branch', branch: 0 });
      const allImages = pieces.length > 1 ? cat(pieces.map((p) => p.images)) : images;
      const allLabels = pieces.length > 1 ? cat(pieces.map((p) => p.labels)) : labels;
      const out = model.forwardAll(allImages);
      const loss = criterion.compute(out.embedding, allLabels, { features: out.features });
      const value = loss.item();
      if (!Number.isFinite(value)) throw new NonFiniteLossError(value);
      optimizer.zeroGrad();
      (lossScale ? loss.mul(lossScale.scale) : loss).backward();
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
