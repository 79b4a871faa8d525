// The clean gallery that attacked queries are retrieved from: L2-normalised embeddings of the
// whole test split (or of In-Shop's gallery), their labels, and the one rule every measure here
// shares: a query never retrieves its own clean copy (the gallery row it came from).
import * as T from '../torch/index.js';
import { F, noGrad, tidy, type Tensor } from '../torch/index.js';

export class CleanGallery {
  /** [Ng, D], L2-normalised, on the device the attacks run on. */
  readonly embeddings: Tensor;
  readonly labels: Int32Array;
  private readonly rowsOf = new Map<number, Int32Array>();

  /** Takes its own copy of `embeddings` (normalised); dispose() frees it. */
  constructor(embeddings: Tensor, labels: Int32Array) {
    if (embeddings.ndim !== 2 || embeddings.size(0) !== labels.length) {
      throw new RangeError(`gallery: ${labels.length} labels for embeddings of shape [${embeddings.shape.join(', ')}]`);
    }
    if (labels.length < 2) throw new RangeError('gallery: needs at least 2 images');
    this.embeddings = T.keep(noGrad(() => F.l2Normalize(embeddings.detach(), 1).contiguous()));
    this.labels = labels;
    const lists = new Map<number, number[]>();
    labels.forEach((label, row) => {
      const list = lists.get(label);
      if (list) list.push(row);
      else lists.set(label, [row]);
    });
    for (const [label, rows] of lists) this.rowsOf.set(label, Int32Array.from(rows));
  }

  get size(): number {
    return this.labels.length;
  }

  get classes(): number {
    return this.rowsOf.size;
  }

  get device(): string {
    return this.embeddings.device;
  }

  /** Gallery rows of one class (empty when the class is absent). */
  rowsOfClass(label: number): Int32Array {
    return this.rowsOf.get(label) ?? new Int32Array(0);
  }

  /** [rows.length, D] embeddings of the given gallery rows. */
  rows(rows: ArrayLike<number>): Tensor {
    return this.embeddings.indexSelect(0, int64Tensor(rows, this.device));
  }

  /**
   * Inner products [b, Ng] of unit rows with every gallery row (the Euclidean order on the sphere),
   * with entries (i, skip[j][i]) set to -inf for each list in `skip` whose entry is >= 0.
   */
  similarities(queries: Tensor, ...skip: readonly ArrayLike<number>[]): Tensor {
    return tidy(() => {
      const s = queries.mm(this.embeddings.t());
      return skip.length === 0 ? s : s.maskedFill(this.mask(queries.size(0), skip), -Infinity);
    });
  }

  /** Bool [b, Ng]: true at (i, skip[j][i]) for every list j with an entry >= 0. */
  mask(rows: number, skip: readonly ArrayLike<number>[]): Tensor {
    const width = this.size;
    const bytes = new Uint8Array(rows * width);
    for (const list of skip) {
      if (list.length !== rows) throw new RangeError(`gallery: ${list.length} rows to skip for ${rows} queries`);
      for (let i = 0; i < rows; i++) {
        const column = list[i]!;
        if (column >= 0) bytes[i * width + column] = 1;
      }
    }
    return T.tensor(bytes, [rows, width], { dtype: 'bool', device: this.device });
  }

  /** The nearest gallery row of each query, its own copy excluded. */
  nearest(queries: Tensor, ownRows: ArrayLike<number>): Int32Array {
    return noGrad(() => tidy(() => Int32Array.from(this.similarities(queries.detach(), ownRows).argmax(1).toNumbers())));
  }

  /** The k nearest gallery rows of each query (row-major [b, k]), its own copy excluded. */
  nearestK(queries: Tensor, ownRows: ArrayLike<number>, k: number): Int32Array {
    const width = Math.min(k, this.size - 1);
    return noGrad(() => tidy(() => Int32Array.from(this.similarities(queries.detach(), ownRows).topk(width, 1).indices.flatten().toNumbers())));
  }

  dispose(): void {
    this.embeddings.dispose();
  }
}

export function int64Tensor(values: ArrayLike<number>, device: string): Tensor {
  return T.tensor(BigInt64Array.from(Array.from(values), (v) => BigInt(v)), [values.length], { dtype: 'int64', device: device });
}
