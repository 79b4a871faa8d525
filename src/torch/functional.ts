// Neural-network functions over tensors (the torch.nn.functional subset that CNN metric learning
// uses). Modules in src/nn hold parameters and call these.
import { op } from './dispatch.js';
import { tidy } from './scope.js';
import { noGrad } from './autograd.js';
import { run, runMany, type Tensor } from './tensor.js';

const f = {
  conv2d: op('conv2d'),
  batchNorm: op('batch_norm'),
  maxPool2d: op('max_pool2d'),
  maxPool2dWithIndices: op('max_pool2d_with_indices'),
  avgPool2d: op('avg_pool2d'),
  adaptiveAvgPool2d: op('adaptive_avg_pool2d'),
  linear: op('linear'),
  logSoftmax: op('log_softmax', 'int'),
  softmax: op('softmax', 'int'),
  crossEntropy: op('cross_entropy_loss'),
  dropout: op('dropout'),
  im2col: op('im2col'),
};

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
}

export function conv2d(input: Tensor, weight: Tensor, bias: Tensor | null = null, o: Conv2dOptions = {}): Tensor {
  return run(f.conv2d, input, weight, bias, o.stride ?? 1, o.padding ?? 0, o.dilation ?? 1, o.groups ?? 1);
}

export interface BatchNormOptions {
  training: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * Batch normalisation over dim 1. In training, batch statistics normalise and the running ones
 * (when given) are updated in place with `momentum`; in eval the running ones normalise.
 */
export function batchNorm(
  input: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null,
  bias: Tensor | null,
  o: BatchNormOptions,
): Tensor {
  return run(f.batchNorm, input, weight, bias, runningMean, runningVar, o.training, o.momentum ?? 0.1, o.eps ?? 1e-5, true);
}

export interface PoolOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  ceilMode?: boolean;
}

export function maxPool2d(input: Tensor, kernel: number | [number, number], o: PoolOptions = {}): Tensor {
  const args = [kernel, o.stride ?? kernel, o.padding ?? 0, 1, o.ceilMode ?? false] as const;
  if (input.ndim !== 4 || input.device !== 'cpu' || !input.isContiguous()) return run(f.maxPool2d, input, ...args);
  // libtorch 1.13's CPU max-pool is scalar for NCHW tensors and vectorised (over channels) for
  // channels-last ones: 4x faster for ResNet's stem even counting the two layout copies. Its
  // indices are positions within each H x W plane whatever the layout, so a gather with them
  // gives the same values, and the gather's backward (a scatter-add in the same order) the same
  // gradient as max-pool's own backward.
  return tidy(() => {
    const pooled = noGrad(() => runMany(f.maxPool2dWithIndices, input.contiguous('channels_last'), ...args));
    const [n, c] = input.shape as [number, number];
    const [, , h, w] = pooled[0]!.shape as [number, number, number, number];
    if (!input.requiresGrad) return pooled[0]!.contiguous();
    const where = pooled[1]!.contiguous().view([n, c, h * w]);
    return input.view([n, c, -1]).gather(2, where).view([n, c, h, w]);
  });
}

/**
 * The sliding k x k patches of [N, C, H, W] as columns: [N, C * kh * kw, L] (L patch positions,
 * row-major), each column ordered channel by channel, then kernel row, then kernel column, as a
 * contiguous [O, C, kh, kw] weight flattens (PyTorch's F.unfold).
 */
export function unfold(input: Tensor, kernel: [number, number], o: { stride?: [number, number]; padding?: [number, number]; dilation?: [number, number] } = {}): Tensor {
  return run(f.im2col, input, kernel, o.dilation ?? [1, 1], o.padding ?? [0, 0], o.stride ?? [1, 1]);
}

export function avgPool2d(input: Tensor, kernel: number | [number, number], o: PoolOptions = {}): Tensor {
  return run(f.avgPool2d, input, kernel, o.stride ?? kernel, o.padding ?? 0, o.ceilMode ?? false, true, null);
}

export function adaptiveAvgPool2d(input: Tensor, outputSize: number | [number, number]): Tensor {
  return run(f.adaptiveAvgPool2d, input, outputSize);
}

/** input @ weight^T + bias */
export function linear(input: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  return run(f.linear, input, weight, bias);
}

export function relu(input: Tensor): Tensor {
  return input.relu();
}

export function dropout(input: Tensor, p: number, training: boolean): Tensor {
  return run(f.dropout, input, p, training);
}

export function logSoftmax(input: Tensor, dim: number): Tensor {
  return run(f.logSoftmax, input, dim, null);
}

export function softmax(input: Tensor, dim: number): Tensor {
  return run(f.softmax, input, dim, null);
}

/** Mean cross-entropy of logits [N, C] against int64 class indices [N]. */
export function crossEntropy(logits: Tensor, target: Tensor, labelSmoothing = 0): Tensor {
  return run(f.crossEntropy, logits, target, null, 1, -100, labelSmoothing);
}

/** The default epsilon of l2Normalize (the ONNX export writes the same one into its graphs). */
export const L2_NORMALIZE_EPS = 1e-12;

/** x / max(||x||_2, eps) along dim (embeddings live on the unit sphere). */
export function l2Normalize(x: Tensor, dim = -1, eps = L2_NORMALIZE_EPS): Tensor {
  return tidy(() => x.div(x.norm(2, dim, true).clampMin(eps)));
}

/** Cosine similarity of every row of a with every row of b: [Na, Nb]. */
export function cosineSimilarityMatrix(a: Tensor, b: Tensor, eps = 1e-12): Tensor {
  return tidy(() => l2Normalize(a, 1, eps).mm(l2Normalize(b, 1, eps).t()));
}

/**
 * Squared Euclidean distances between rows, ||a||^2 + ||b||^2 - 2 a.b, clamped at 0 (rounding can
 * push the expansion below zero). One matmul, so it scales to large retrieval sets in chunks.
 */
export function squaredDistances(a: Tensor, b: Tensor): Tensor {
  return tidy(() => {
    const aa = a.square().sum(1, true);
    const bb = b.square().sum(1, true).t();
    return aa.add(bb).sub(a.mm(b.t()), 2).clampMin(0);
  });
}

/**
 * Euclidean distances between rows. `eps` inside the square root keeps the gradient finite where
 * a distance is zero (a row against itself).
 */
export function pairwiseDistances(a: Tensor, b: Tensor, eps = 0): Tensor {
  return tidy(() => {
    const sq = squaredDistances(a, b);
    return eps > 0 ? sq.add(eps).sqrt() : sq.sqrt();
  });
}
