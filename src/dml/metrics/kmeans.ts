// k-means with tensors: k-means++ initialisation (Arthur & Vassilvitskii, 2007) from its own stream
// of the project's seeded generator (not libtorch's global one, so evaluating mid-training never
// shifts the training run's random draws), then Lloyd iterations with chunked nearest-centre
// assignment.
// A centre that loses all its points keeps its previous position.
import { Random } from '../../data/random.js';
import { cat, noGrad, tensor, tidy, zeros, type Tensor } from '../../torch/index.js';
import { bincount, cumsum, indexAdd, searchsorted } from '../ops.js';
import { chunkRows, metricFloat } from './chunks.js';
import { fixedRows, type FixedRows } from './inner-products.js';

const KMEANS_MEMORY_BUDGET = 64 * 1024 * 1024;

export interface KMeansOptions {
  /** Seed of the k-means++ draws (default 0). */
  seed?: number;
  /** Lloyd iterations at most (default 20, as the faiss setup of the DML benchmarks). */
  maxIterations?: number;
  /** Rows per assignment block (default: from memoryBudgetBytes, 64 MiB). */
  chunkSize?: number;
  memoryBudgetBytes?: number;
  /** Called about every 1% of the k-means++ centres and after each iteration. */
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

/** x [N, D] cut into row blocks, each laid out once for repeated products with centres. */
interface RowBlocks {
  blocks: FixedRows[];
  squaredNorms: Tensor;
}

function rowBlocks(x: Tensor, rows: number): RowBlocks {
  const blocks: FixedRows[] = [];
  for (let start = 0; start < x.size(0); start += rows) blocks.push(fixedRows(x.narrow(0, start, Math.min(rows, x.size(0) - start))));
  return { blocks, squaredNorms: x.square().sum(1) };
}

/** Squared distances [N] of every row (given transposed, [D, N]) to one centre. */
function squaredDistancesTo(xT: Tensor, squaredNorms: Tensor, centre: Tensor): Tensor {
  return tidy(() => {
    // One centre against all rows is bound by reading x once; [1, D] x [D, N] streams through
    // x in memory order, the fastest of the products measured for this shape.
    const products = centre.unsqueeze(0).mm(xT).squeeze(0);
    return squaredNorms.sub(products, 2).add(centre.square().sum()).clampMin(0);
  });
}

/** Indices of k initial centres, each drawn with probability proportional to D(x)². */
export function kmeansPlusPlus(x: Tensor, k: number, seed = 0, onProgress?: (done: number, total: number) => void): number[] {
  return noGrad(() =>
    tidy(() => {
      const n = x.size(0);
      const random = new Random(seed, 'kmeans++');
      const xT = x.t().contiguous();
      const squaredNorms = x.square().sum(1);
      const chosen = [random.int(n)];
      let nearest = squaredDistancesTo(xT, squaredNorms, x.select(0, chosen[0]!));
      const step = Math.max(1, Math.floor(k / 100));
      for (let j = 1; j < k; j++) {
        const next = tidy(() => {
          const cumulative = cumsum(nearest, 0);
          const total = cumulative.select(0, n - 1).item();
          if (!(total > 0)) return random.int(n); // every row sits on a centre already
          const target = tensor([random.next() * total], [1], { dtype: x.dtype, device: x.device });
          return Math.min(searchsorted(cumulative, target).item(), n - 1);
        });
        chosen.push(next);
        const updated = tidy(() => nearest.minimum(squaredDistancesTo(xT, squaredNorms, x.select(0, next))));
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

/** Nearest centre of every row, block by block. */
function assign(x: RowBlocks, centres: Tensor): Assignment {
  return tidy(() => {
    // |x|² is constant per row, so the nearest centre maximises x·c - |c|²/2.
    const halfNorms = centres.square().sum(1).mul(0.5);
    const best = x.blocks.map((b) => b.bestOf(centres, halfNorms));
    const values = cat(best.map((b) => b.values), 0);
    const inertia = x.squaredNorms.sub(values, 2).clampMin(0).sum().item();
    return { ids: cat(best.map((b) => b.indices), 0), inertia };
  });
}

/** The mean of each cluster's rows; clusters without rows keep their centre. */
function update(x: Tensor, ids: Tensor, centres: Tensor): Tensor {
  return tidy(() => {
    const k = centres.size(0);
    const sums = indexAdd(zeros([k, x.size(1)], { dtype: x.dtype, device: x.device }), 0, ids, x);
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
  // Per row of a block: k products plus the max's temporaries. Blocks of tens of MB run faster
  // than larger ones here (they stay out of the allocator's page-faulting large-block path).
  const rows = options.chunkSize ?? chunkRows(k, options.memoryBudgetBytes ?? KMEANS_MEMORY_BUDGET, 12);
  return noGrad(() =>
    tidy(() => {
      const data = metricFloat(x.detach());
      const initial = kmeansPlusPlus(data, k, options.seed ?? 0, (done, total) => options.onProgress?.('init', done, total));
      const layout = rowBlocks(data, rows);
      let centres = data.indexSelect(0, tensor(BigInt64Array.from(initial, BigInt), [k], { dtype: 'int64', device: data.device }));
      let current = assign(layout, centres);
      let iterations = 0;
      while (iterations < maxIterations) {
        iterations++;
        const next = update(data, current.ids, centres);
        centres.dispose();
        centres = next;
        const reassigned = assign(layout, centres);
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
