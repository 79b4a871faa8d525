// Embedding-space measures of Roth et al., "Revisiting Training Strategies and Generalization
// Performance in Deep Metric Learning" (ICML 2020), on L2-normalised embeddings φ.
//
// pi-ratio (embedding space density), cosine distance cd(a, b) = 1 - a·b / (|a| |b|):
//   π_intra = mean over classes c with n_c >= 2 of  mean over i != j in c of cd(φ_i, φ_j)
//   π_inter = mean over class pairs c != c' of cd(μ_c, μ_c'),  μ_c = mean of class c's φ
//   π_ratio = π_intra / max(π_inter, 1e-8)
// Computed exactly in O(N·D): for unit rows, Σ_{i != j in c} φ_i·φ_j = |Σ_i φ_i|² - n_c, and
// likewise for the normalised centres. (Singleton classes, which have no pairs, are left out of
// π_intra; the benchmark code fills them with the largest class value instead.)
//
// rho-spectrum (spectral decay): with s the singular values of the N x D embedding matrix (not
// centred), taken from position `offset` on (1: all, 2: without the largest, ...), normalised to
// sum to 1, and U the uniform distribution over as many entries:
//   ρ = KL(U || s) = Σ_k (1/K) log((1/K) / s_k)
// 0 for a perfectly flat spectrum; larger when few directions carry the embedding.
import { F, noGrad, tensor, tidy, zeros, type Tensor } from '../../torch/index.js';
import { indexAdd, svdvals } from '../ops.js';

/** Sums of the rows of each class [C, D] and the class sizes. */
function classSums(x: Tensor, ids: Int32Array, classes: number): { sums: Tensor; sizes: Int32Array } {
  return tidy(() => {
    const sizes = new Int32Array(classes);
    for (const id of ids) sizes[id]!++;
    const index = tensor(BigInt64Array.from(ids, (v) => BigInt(v)), [ids.length], { dtype: 'int64', device: x.device });
    const empty = zeros([classes, x.size(1)], { dtype: x.dtype, device: x.device });
    return { sums: indexAdd(empty, 0, index, x), sizes };
  });
}

export interface PiRatio {
  intra: number;
  inter: number;
  ratio: number;
}

export function piRatio(embeddings: Tensor, ids: Int32Array, classes: number): PiRatio {
  return noGrad(() =>
    tidy(() => {
      const x = F.l2Normalize(embeddings.detach().to('float64'), 1);
      const { sums, sizes } = classSums(x, ids, classes);
      const sumNorms = sums.square().sum(1).toNumbers();
      let intraTotal = 0;
      let intraClasses = 0;
      sizes.forEach((n, c) => {
        if (n < 2) return;
        intraTotal += 1 - (sumNorms[c]! - n) / (n * (n - 1));
        intraClasses++;
      });
      const intra = intraClasses > 0 ? intraTotal / intraClasses : 0;
      const present = Array.from(sizes.keys()).filter((c) => sizes[c]! > 0);
      let inter = 0;
      if (present.length >= 2) {
        const index = tensor(BigInt64Array.from(present, BigInt), [present.length], { dtype: 'int64', device: x.device });
        const centres = F.l2Normalize(sums.indexSelect(0, index), 1);
        const m = present.length;
        const total = centres.sum(0).square().sum().item();
        const selfSimilarity = centres.square().sum().item(); // m, less any zero centre
        inter = 1 - (total - selfSimilarity) / (m * (m - 1));
      }
      return { intra, inter, ratio: intra / Math.max(inter, 1e-8) };
    }),
  );
}

export function rhoSpectrum(embeddings: Tensor, offset = 1): number {
  if (!Number.isInteger(offset) || offset < 1) throw new RangeError(`rhoSpectrum: offset must be a positive integer, got ${offset}`);
  return noGrad(() =>
    tidy(() => {
      const x = F.l2Normalize(embeddings.detach().to('float64'), 1);
      const values = svdvals(x).toNumbers().slice(offset - 1);
      if (values.length === 0) return 0;
      const total = values.reduce((a, b) => a + b, 0);
      const k = values.length;
      let kl = 0;
      // Zero singular values (rank-deficient embeddings) are floored so ρ stays finite.
      for (const s of values) kl += (1 / k) * Math.log(1 / k / Math.max(s / total, 1e-12));
      return kl;
    }),
  );
}
