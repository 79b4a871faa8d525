// k-means with tensors: k-means++ initialisation (Arthur & Vassilvitskii, 2007) from a seeded
// generator, then Lloyd iterations with chunked nearest-centre assignment.
// A centre that loses all its points keeps its previous position.
import { cat, noGrad, tensor, tidy, zeros, type Tensor } from '../../torch/index.js';
import { bincount, cumsum, indexAdd, searchsorted } from '../ops.js';
import { chunkRows, deviceOption } from './chunks.js';
import { seededRandom } from './seeded-random.js';

export interface KMeansOptions {
  /** Seed of the k-means++ draws (default 0). */
  seed?: number;
  /** Lloyd iterations at most (default 20, as the faiss setup of the DML benchmarks). */
  maxIterations?: number;
  /** Rows per assignment block (default: from memoryBudgetBytes). */
  chunkSize?: number;
  memoryBudgetBytes?: number;
  /** Called once per k-means++ centre batch and per iteration. */
  onProgress?: (stage: 'init' | 'iterate', done: number, total: number) => void;
}

export interface KMeansResult {
  /** Cluster id of every row. */
  assignments: Int32Array;
  /** Lloyd iterations run. */
  iterations: number;
  /** Sum of squared distances of the rows to their centres. */
  inertia: number;
}

/** Squared distances of every row of x (with precomputed squared norms) to one centre. */
function squaredDistancesTo(x: Tensor, squaredNorms: Tensor, centre: Tensor): Tensor {
  return tidy(() => squaredNorms.sub(x.mm(centre.unsqueeze(1)).squeeze(1), 2).add(centre.square().sum()).clampMin(0));
}

/** Indices of k initial centres, each drawn with probability proportional to D(x)². */
export function kmeansPlusPlus(x: Tensor, k: number, seed = 0, onProgress?: (done: number, total: number) => void): number[] {
  return noGrad(() =>
    tidy(() => {
      const n = x.size(0);
      const random = seededRandom(seed);
      const squaredNorms = x.square().sum(1);
      const chosen = [Math.floor(random() * n)];
      let nearest = squaredDistancesTo(x, squaredNorms, x.select(0, chosen[0]!));
      const step = Math.max(1, Math.floor(k / 100));
      for (let j = 1; j < k; j++) {
        const next = tidy(() => {
          const cumulative = cumsum(nearest, 0);
          const total = cumulative.select(0, n - 1).item();
          if (!(total > 0)) return Math.floor(random() * n); // every row sits on a centre already
          const target = tensor([random() * total], [1], { dtype: x.dtype, device: deviceOption(x) });
          return Math.min(searchsorted(cumulative, target).item(), n - 1);
        });
        chosen.push(next);
        const updated = tidy(() => nearest.minimum(squaredDistancesTo(x, squaredNorms, x.select(0, next))));
        nearest.dispose();
        nearest = updated;
        if (onProgress && (j % step === 0 || j === k - 1)) onProgress(j + 1, k);
      }
      return chosen;
    }),
  );
}

interface Assignment {
  ids: Tensor;
  inertia: number;
}

/** Nearest centre of every row, in blocks of rows. */
function assign(x: Tensor, squaredNorms: Tensor, centres: Tensor, rows: number): Assignment {
  return tidy(() => {
    const centreNorms = centres.square().sum(1).unsqueeze(0);
    const centresT = centres.t().contiguous();
    const parts: Tensor[] = [];
    let inertia = 0;
    for (let start = 0; start < x.size(0); start += rows) {
      const count = Math.min(rows, x.size(0) - start);
      const best = tidy(() => {
        // |x|² is constant per row, so the nearest centre minimises |c|² - 2 x·c.
        const partial = centreNorms.sub(x.narrow(0, start, count).mm(centresT), 2).minDim(1);
        inertia += partial.values.add(squaredNorms.narrow(0, start, count)).clampMin(0).sum().item();
        return partial.indices;
      });
      parts.push(best);
    }
    return { ids: parts.length === 1 ? parts[0]! : cat(parts, 0), inertia };
  });
}

/** The mean of each cluster's rows; clusters without rows keep their centre. */
function update(x: Tensor, ids: Tensor, centres: Tensor): Tensor {
  return tidy(() => {
    const k = centres.size(0);
    const sums = indexAdd(zeros([k, x.size(1)], { dtype: x.dtype, device: deviceOption(x) }), 0, ids, x);
    const counts = bincount(ids, k).to(x.dtype).unsqueeze(1);
    const empty = counts.eq(0);
    return sums.div(counts.clampMin(1)).add(centres.mul(empty.to(x.dtype)));
  });
}

/** Clusters the rows of x [N, D] into k groups. */
export function kmeans(x: Tensor, k: number, options: KMeansOptions = {}): KMeansResult {
  const n = x.size(0);
  if (!Number.isInteger(k) || k < 1 || k > n) throw new RangeError(`kmeans: k must be an integer in [1, ${n}], got ${k}`);
  const maxIterations = options.maxIterations ?? 20;
  const rows = options.chunkSize ?? chunkRows(k, options.memoryBudgetBytes);
  return noGrad(() =>
    tidy(() => {
      const data = x.detach();
      const squaredNorms = data.square().sum(1);
      const initial = kmeansPlusPlus(data, k, options.seed ?? 0, (done, total) => options.onProgress?.('init', done, total));
      let centres = data.indexSelect(0, tensor(BigInt64Array.from(initial, BigInt), [k], { dtype: 'int64', device: deviceOption(data) }));
      let current = assign(data, squaredNorms, centres, rows);
      let iterations = 0;
      while (iterations < maxIterations) {
        iterations++;
        const next = update(data, current.ids, centres);
        centres.dispose();
        centres = next;
        const reassigned = assign(data, squaredNorms, centres, rows);
        const changed = tidy(() => reassigned.ids.ne(current.ids).any().item());
        current.ids.dispose();
        current = reassigned;
        options.onProgress?.('iterate', iterations, maxIterations);
        if (!changed) break;
      }
      return { assignments: Int32Array.from(current.ids.toNumbers()), iterations, inertia: current.inertia };
    }),
  );
}
