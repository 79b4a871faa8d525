// Inner products of many rows against one fixed set of rows, the hot loop of retrieval and
// k-means. On CPU they run as 1x1 convolutions, which libtorch hands to oneDNN: with the BLAS
// that Debian's libtorch links by default (the reference netlib one) a float32 matmul reaches
// about 1.5 GFLOP/s on this machine, the convolution about 30. On other devices: plain matmul.
//
// Layout: the fixed rows [N, D] become a batch of `PARTS` images [PARTS, D, L, 1] (row r sits
// in image r / L at position r % L, zero rows pad N up to PARTS * L); a 1x1 convolution with the
// query rows as filters [M, D, 1, 1] gives [PARTS, M, L, 1]. A batch of at least 16 images makes
// libtorch pick oneDNN whatever the thread count.
import { cat, F, tidy, zeros, type Tensor } from '../../torch/index.js';

const PARTS = 16;

export interface FixedRows {
  /** Number of fixed rows N. */
  readonly rows: number;
  /** [M, N]: every given row [M, D] against every fixed row. */
  against(queries: Tensor): Tensor;
  /**
   * For every fixed row, the candidate c (rows of candidates [M, D]) with the largest
   * <row, c> - bias[c], and that value: indices and values [N].
   */
  bestOf(candidates: Tensor, bias: Tensor): { indices: Tensor; values: Tensor };
}

/** Prepares `fixed` [N, D] for repeated products; the layout lives in the caller's scope. */
export function fixedRows(fixed: Tensor): FixedRows {
  return fixed.device === 'cpu' ? convolutionRows(fixed) : matmulRows(fixed);
}

function matmulRows(fixed: Tensor): FixedRows {
  const fixedT = fixed.t().contiguous();
  return {
    rows: fixed.size(0),
    against: (queries) => queries.mm(fixedT),
    bestOf: (candidates, bias) =>
      tidy(() => {
        const best = fixed.mm(candidates.t()).sub(bias.unsqueeze(0)).maxDim(1);
        return { indices: best.indices, values: best.values };
      }),
  };
}

function convolutionRows(fixed: Tensor): FixedRows {
  const n = fixed.size(0);
  const d = fixed.size(1);
  const length = Math.max(1, Math.ceil(n / PARTS));
  const layout = tidy(() => {
    const padding = PARTS * length - n;
    const padded = padding > 0 ? cat([fixed, zeros([padding, d], { dtype: fixed.dtype })], 0) : fixed;
    return padded.t().reshape([d, PARTS, length]).permute([1, 0, 2]).contiguous().unsqueeze(3);
  });
  const products = (queries: Tensor): Tensor => F.conv2d(layout, queries.reshape([queries.size(0), d, 1, 1])); // [PARTS, M, L, 1]
  return {
    rows: n,
    against: (queries) =>
      tidy(() => {
        const m = queries.size(0);
        const out = products(queries).squeeze(3).permute([1, 0, 2]).reshape([m, PARTS * length]);
        return PARTS * length === n ? out : out.narrow(1, 0, n);
      }),
    bestOf: (candidates, bias) =>
      tidy(() => {
        const scores = products(candidates).squeeze(3).sub(bias.view([1, -1, 1])); // [PARTS, M, L]
        const best = scores.maxDim(1); // [PARTS, L]: image-major is the fixed rows' order
        return { indices: best.indices.flatten().narrow(0, 0, n), values: best.values.flatten().narrow(0, 0, n) };
      }),
  };
}
