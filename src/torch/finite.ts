// Weights from a file must be finite numbers: a NaN or an infinity in one tensor spreads through
// every forward pass (NaN embeddings, or training that stops at its first step), so readers refuse
// such files by the first tensor at fault.
import { isFloating } from './dtype.js';
import { tidy } from './scope.js';
import type { Tensor } from './tensor.js';

export interface NonFinite {
  name: string;
  /** Elements of that tensor that are NaN or infinite, and its elements in all. */
  count: number;
  numel: number;
}

/** The first floating tensor (in iteration order) holding a NaN or an infinity; null when all are finite. */
export function firstNonFinite(tensors: Iterable<readonly [string, Tensor]>): NonFinite | null {
  for (const [name, t] of tensors) {
    if (!isFloating(t.dtype) || t.numel === 0) continue;
    const finite = tidy(() => t.isfinite().sum().item());
    if (finite < t.numel) return { name, count: t.numel - finite, numel: t.numel };
  }
  return null;
}

/** "holds 3 NaN or infinite values (of 64)" */
export function describeNonFinite(found: NonFinite): string {
  return `holds ${found.count} NaN or infinite value${found.count === 1 ? '' : 's'} (of ${found.numel}); weights must be finite numbers`;
}
