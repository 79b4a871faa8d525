// Numerically stable pieces shared by the softplus-style losses.
import { cat, tidy, zeros, type Tensor } from '../../torch/index.js';

/**
 * log(1 + Σ exp(x)) over the entries of `dim` where mask holds, computed as a logsumexp with an
 * extra 0 term so that large exponents (beta 40, alpha 32) cannot overflow. Masked-out entries
 * get -inf, which contributes nothing to the value or the gradient.
 */
export function logOnePlusSumExp(x: Tensor, mask: Tensor, dim: number): Tensor {
  return tidy(() => {
    const shape = [...x.shape];
    shape[dim] = 1;
    const zero = zeros(shape, { dtype: x.dtype, device: x.device });
    return cat([zero, x.maskedFill(mask.logicalNot(), -Infinity)], dim).logsumexp(dim);
  });
}

/** Mean over selected entries, 0 (still attached to the graph) when none is selected. */
export function maskedMean(values: Tensor, mask: Tensor): Tensor {
  return tidy(() => {
    const count = mask.to(values.dtype).sum().clampMin(1);
    return values.maskedFill(mask.logicalNot(), 0).sum().div(count);
  });
}
