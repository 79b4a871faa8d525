// Label bookkeeping shared by losses and miners: which pairs of a batch share a class.
import { eye, tidy, type Tensor } from '../torch/index.js';

export interface LabelMasks {
  /** [B, B] bool: same label, the diagonal (a sample with itself) excluded. */
  positive: Tensor;
  /** [B, B] bool: different labels. */
  negative: Tensor;
}

export function labelMasks(labels: Tensor): LabelMasks {
  return tidy(() => {
    const same = labels.unsqueeze(1).eq(labels.unsqueeze(0));
    const notSelf = eye(labels.size(0), { dtype: 'bool', device: labels.device }).logicalNot();
    return { positive: same.logicalAnd(notSelf), negative: same.logicalNot() };
  });
}

/** Checks a batch: embeddings [B, D] floating, labels [B] integer. */
export function checkBatch(where: string, embeddings: Tensor, labels: Tensor): void {
  if (embeddings.ndim !== 2) throw new RangeError(`${where}: embeddings must be [B, D], got [${embeddings.shape.join(', ')}]`);
  if (labels.ndim !== 1 || labels.size(0) !== embeddings.size(0)) {
    throw new RangeError(`${where}: labels must be [${embeddings.size(0)}], got [${labels.shape.join(', ')}]`);
  }
  if (labels.dtype !== 'int64' && labels.dtype !== 'int32') throw new TypeError(`${where}: labels must be int64, got ${labels.dtype}`);
}

/** The labels as plain numbers (batches are small; miners build their index lists in JS). */
export function labelList(labels: Tensor): number[] {
  return labels.toNumbers();
}
