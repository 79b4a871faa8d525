// A loss wrapper that refuses non-finite embeddings. Once the weights hold NaN or infinity, a
// metric-learning loss can still come out finite (NaN similarities fail every mining test and the
// loss averages over no pairs), so checking the loss alone lets a diverged run carry on.
import { NonFiniteLossError, type Criterion } from '../methods/index.js';
import type { Tensor } from '../torch/index.js';

export function finiteGuard(criterion: Criterion): Criterion {
  return {
    compute(embeddings: Tensor, labels: Tensor, context?: { features?: Tensor }): Tensor {
      const allFinite = embeddings.detach().isfinite().all().item() === 1;
      if (!allFinite) throw new NonFiniteLossError(Number.NaN);
      return criterion.compute(embeddings, labels, context);
    },
  };
}
