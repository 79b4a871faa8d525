// Distances between embeddings that know which direction is "closer": Euclidean and squared
// Euclidean (smaller is closer) and cosine similarity (larger is closer). Losses phrase their
// rules through `farther`, `farthestIn` and `closestIn`, so one loss serves both kinds.
import { F, tidy, type Tensor } from '../torch/index.js';

export type DistanceName = 'euclidean' | 'squaredEuclidean' | 'cosine';

export interface Distance {
  readonly name: DistanceName;
  /** True for similarities: a larger value means closer. */
  readonly higherIsCloser: boolean;
  /** Whether rows are L2-normalised before they are compared. */
  readonly normalizes: boolean;
  /** Values between every row of a and every row of b (b defaults to a): [Na, Nb]. */
  matrix(a: Tensor, b?: Tensor): Tensor;
  /** How much farther x is than y: positive when x is farther (x - y for distances, y - x for similarities). */
  farther(x: Tensor | number, y: Tensor | number): Tensor;
  /**
   * Per row (dim 1, kept), the farthest value among entries where mask holds. A row without any
   * entry gets the closest possible value (-inf for distances, +inf for similarities), so a rule
   * "closer than the farthest ..." selects nothing in it.
   */
  farthestIn(values: Tensor, mask: Tensor): Tensor;
  /** Per row, the closest value among masked entries; a row without any gets the farthest possible value. */
  closestIn(values: Tensor, mask: Tensor): Tensor;
}

export interface DistanceOptions {
  /** L2-normalise rows first (default true: embeddings live on the unit sphere). */
  normalize?: boolean;
}

/** x - y where either side may be a plain number. */
function difference(x: Tensor | number, y: Tensor | number): Tensor {
  if (typeof x !== 'number') return x.sub(y);
  if (typeof y === 'number') throw new TypeError('farther(): at least one side must be a tensor');
  return y.rsub(x);
}

// Below this, squared distances are clamped before the square root: the root's gradient is
// infinite at 0 and a masked-out zero (an embedding against itself) would turn it into NaN.
const MIN_SQUARED_DISTANCE = 1e-12;

abstract class BaseDistance implements Distance {
  abstract readonly name: DistanceName;
  abstract readonly higherIsCloser: boolean;
  readonly normalizes: boolean;

  constructor(options: DistanceOptions = {}) {
    this.normalizes = options.normalize ?? true;
  }

  protected prepare(x: Tensor): Tensor {
    return this.normalizes ? F.l2Normalize(x, 1) : x;
  }

  abstract matrix(a: Tensor, b?: Tensor): Tensor;

  farther(x: Tensor | number, y: Tensor | number): Tensor {
    return this.higherIsCloser ? difference(y, x) : difference(x, y);
  }

  farthestIn(values: Tensor, mask: Tensor): Tensor {
    return tidy(() =>
      this.higherIsCloser
        ? values.maskedFill(mask.logicalNot(), Infinity).minDim(1, true).values
        : values.maskedFill(mask.logicalNot(), -Infinity).maxDim(1, true).values,
    );
  }

  closestIn(values: Tensor, mask: Tensor): Tensor {
    return tidy(() =>
      this.higherIsCloser
        ? values.maskedFill(mask.logicalNot(), -Infinity).maxDim(1, true).values
        : values.maskedFill(mask.logicalNot(), Infinity).minDim(1, true).values,
    );
  }
}

export class SquaredEuclideanDistance extends BaseDistance {
  readonly name = 'squaredEuclidean';
  readonly higherIsCloser = false;
  matrix(a: Tensor, b?: Tensor): Tensor {
    return tidy(() => {
      const pa = this.prepare(a);
      return F.squaredDistances(pa, b === undefined ? pa : this.prepare(b));
    });
  }
}

export class EuclideanDistance extends BaseDistance {
  readonly name = 'euclidean';
  readonly higherIsCloser = false;
  matrix(a: Tensor, b?: Tensor): Tensor {
    return tidy(() => {
      const pa = this.prepare(a);
      return F.squaredDistances(pa, b === undefined ? pa : this.prepare(b))
        .clampMin(MIN_SQUARED_DISTANCE)
        .sqrt();
    });
  }
}

export class CosineSimilarity extends BaseDistance {
  readonly name = 'cosine';
  readonly higherIsCloser = true;
  constructor() {
    // Cosine similarity is defined on directions: always normalise.
    super({ normalize: true });
  }
  matrix(a: Tensor, b?: Tensor): Tensor {
    return tidy(() => {
      const pa = this.prepare(a);
      return pa.mm((b === undefined ? pa : this.prepare(b)).t());
    });
  }
}

export function createDistance(name: DistanceName, options: DistanceOptions = {}): Distance {
  switch (name) {
    case 'euclidean':
      return new EuclideanDistance(options);
    case 'squaredEuclidean':
      return new SquaredEuclideanDistance(options);
    case 'cosine':
      return new CosineSimilarity();
  }
}
