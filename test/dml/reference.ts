// Plain-JS reference computations for the dml tests: loops over number arrays, no tensor code,
// so a shared mistake in the tensor path cannot hide.

export type Matrix = number[][];

/** A seeded U[0, 1) stream (a different generator from the one under test). */
export function lcg(seed: number): () => number {
  let state = BigInt(seed) + 1n;
  return () => {
    state = (state * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n);
    return Number(state >> 11n) / 2 ** 53;
  };
}

export function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-300);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** `perClass` samples per class around random unit centres, with Gaussian noise of `spread`. */
export function clusteredEmbeddings(seed: number, classes: number, perClass: number, dim: number, spread: number): { rows: Matrix; labels: number[] } {
  const random = lcg(seed);
  const centres = Array.from({ length: classes }, () => normalize(Array.from({ length: dim }, () => gaussian(random))));
  const rows: Matrix = [];
  const labels: number[] = [];
  for (let i = 0; i < classes * perClass; i++) {
    const c = i % classes; // interleaved, so the evaluated order is not sorted by class
    rows.push(centres[c]!.map((v) => v + spread * gaussian(random)));
    labels.push(c * 3 + 7); // sparse, non-contiguous label values
  }
  return { rows, labels };
}

export function normalize(v: number[]): number[] {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / Math.max(n, 1e-12));
}

export const dot = (a: number[], b: number[]): number => a.reduce((s, x, i) => s + x * b[i]!, 0);

export function euclidean(a: number[], b: number[]): number {
  return Math.sqrt(a.reduce((s, x, i) => s + (x - b[i]!) ** 2, 0));
}

export function matmulT(a: Matrix, b: Matrix): Matrix {
  return a.map((row) => b.map((col) => dot(row, col)));
}

export const relu = (x: number): number => Math.max(0, x);
export const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

export function chunk(flat: ArrayLike<number>, cols: number): Matrix {
  const out: Matrix = [];
  for (let i = 0; i < flat.length; i += cols) out.push(Array.from({ length: cols }, (_, j) => flat[i + j]!));
  return out;
}

// ---- retrieval ----------------------------------------------------------------------------------

export interface ReferenceRetrieval {
  recall: Map<number, number>;
  mapAtR: number;
  rPrecision: number;
  map: number;
}

/** Full sort per query by Euclidean distance on normalised rows; `excluded[q]` is a gallery row query q never sees. */
export function referenceRetrieval(
  queries: Matrix,
  queryLabels: number[],
  gallery: Matrix | null,
  galleryLabels: number[] | null,
  ks: number[],
  excluded?: number[],
): ReferenceRetrieval {
  const q = queries.map(normalize);
  const g = gallery ? gallery.map(normalize) : q;
  const gl = galleryLabels ?? queryLabels;
  const hits = new Map<number, number>(ks.map((k) => [k, 0]));
  let mapAtR = 0;
  let rPrecision = 0;
  let map = 0;
  let evaluated = 0;
  q.forEach((query, qi) => {
    const ranking = g
      .map((row, gi) => ({ gi, d: euclidean(query, row) }))
      .filter(({ gi }) => (gallery !== null || gi !== qi) && gi !== excluded?.[qi])
      .sort((a, b) => a.d - b.d);
    const relevant = ranking.map(({ gi }) => gl[gi] === queryLabels[qi]);
    const r = relevant.filter(Boolean).length;
    if (r === 0) return;
    evaluated++;
    for (const k of ks) if (relevant.slice(0, k).some(Boolean)) hits.set(k, hits.get(k)! + 1);
    let found = 0;
    let apR = 0;
    let ap = 0;
    relevant.forEach((rel, pos) => {
      if (!rel) return;
      found++;
      ap += found / (pos + 1);
      if (pos < r) apR += found / (pos + 1);
    });
    mapAtR += apR / r;
    map += ap / r;
    rPrecision += relevant.slice(0, r).filter(Boolean).length / r;
  });
  return {
    recall: new Map(ks.map((k) => [k, hits.get(k)! / evaluated])),
    mapAtR: mapAtR / evaluated,
    rPrecision: rPrecision / evaluated,
    map: map / evaluated,
  };
}

// ---- embedding space ----------------------------------------------------------------------------

const cosineDistance = (a: number[], b: number[]): number => 1 - dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));

/** pi-ratio by its definition: pairwise cosine distances within classes over those between centres. */
export function referencePiRatio(rows: Matrix, labels: number[]): number {
  const x = rows.map(normalize);
  const byClass = new Map<number, Matrix>();
  x.forEach((row, i) => byClass.set(labels[i]!, [...(byClass.get(labels[i]!) ?? []), row]));
  const intra: number[] = [];
  const centres: Matrix = [];
  for (const members of byClass.values()) {
    const dists: number[] = [];
    for (let i = 0; i < members.length; i++) for (let j = 0; j < members.length; j++) if (i !== j) dists.push(cosineDistance(members[i]!, members[j]!));
    if (members.length >= 2) intra.push(mean(dists));
    centres.push(members[0]!.map((_, d) => mean(members.map((m) => m[d]!))));
  }
  const inter: number[] = [];
  for (let i = 0; i < centres.length; i++) for (let j = 0; j < centres.length; j++) if (i !== j) inter.push(cosineDistance(centres[i]!, centres[j]!));
  return mean(intra) / mean(inter);
}

/** Eigenvalues of a symmetric matrix by cyclic Jacobi rotations. */
export function symmetricEigenvalues(input: Matrix): number[] {
  const a = input.map((r) => [...r]);
  const n = a.length;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p]![q]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(a[p]![q]!) < 1e-300) continue;
        const theta = (a[q]![q]! - a[p]![p]!) / (2 * a[p]![q]!);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k]![p]!;
          const akq = a[k]![q]!;
          a[k]![p] = c * akp - s * akq;
          a[k]![q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p]![k]!;
          const aqk = a[q]![k]!;
          a[p]![k] = c * apk - s * aqk;
          a[q]![k] = s * apk + c * aqk;
        }
      }
    }
  }
  return a.map((r, i) => r[i]!).sort((x, y) => y - x);
}

/** rho-spectrum: KL(uniform || normalised singular values) of the normalised rows. */
export function referenceRhoSpectrum(rows: Matrix, offset = 1): number {
  const x = rows.map(normalize);
  const dim = x[0]!.length;
  const gram = Array.from({ length: dim }, (_, i) => Array.from({ length: dim }, (_, j) => x.reduce((s, r) => s + r[i]! * r[j]!, 0)));
  const singular = symmetricEigenvalues(gram).map((e) => Math.sqrt(Math.max(e, 0))).slice(offset - 1);
  const total = singular.reduce((a, b) => a + b, 0);
  const k = singular.length;
  return singular.reduce((kl, s) => kl + (1 / k) * Math.log(1 / k / (s / total)), 0);
}

// ---- clustering ---------------------------------------------------------------------------------

/** NMI from a dense contingency matrix (arithmetic normalisation). */
export function referenceNmi(labels: number[], clusters: number[]): number {
  const ys = [...new Set(labels)];
  const cs = [...new Set(clusters)];
  const n = labels.length;
  const table = ys.map((y) => cs.map((c) => labels.filter((l, i) => l === y && clusters[i] === c).length));
  const rowSums = table.map((r) => r.reduce((a, b) => a + b, 0));
  const colSums = cs.map((_, j) => table.reduce((s, r) => s + r[j]!, 0));
  const h = (counts: number[]): number => -counts.reduce((s, m) => s + (m > 0 ? (m / n) * Math.log(m / n) : 0), 0);
  let mi = 0;
  table.forEach((r, i) => r.forEach((m, j) => (mi += m > 0 ? (m / n) * Math.log((n * m) / (rowSums[i]! * colSums[j]!)) : 0)));
  return mi / ((h(rowSums) + h(colSums)) / 2);
}

/** F1 over all pairs of samples, by enumerating them. */
export function referencePairF1(labels: number[], clusters: number[]): number {
  let tp = 0;
  let sameCluster = 0;
  let sameClass = 0;
  for (let i = 0; i < labels.length; i++) {
    for (let j = i + 1; j < labels.length; j++) {
      const y = labels[i] === labels[j];
      const c = clusters[i] === clusters[j];
      if (y && c) tp++;
      if (c) sameCluster++;
      if (y) sameClass++;
    }
  }
  const p = tp / sameCluster;
  const r = tp / sameClass;
  return (2 * p * r) / (p + r);
}

/** k-means++ then Lloyd to convergence, on normalised rows. */
export function referenceKmeans(rows: Matrix, k: number, seed: number): number[] {
  const x = rows.map(normalize);
  const random = lcg(seed);
  const sq = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0);
  const centres: Matrix = [x[Math.floor(random() * x.length)]!];
  while (centres.length < k) {
    const d2 = x.map((row) => Math.min(...centres.map((c) => sq(row, c))));
    let u = random() * d2.reduce((a, b) => a + b, 0);
    let pick = 0;
    while (pick < x.length - 1 && u >= d2[pick]!) u -= d2[pick++]!;
    centres.push(x[pick]!);
  }
  let assign = x.map(() => -1);
  for (let it = 0; it < 100; it++) {
    const next = x.map((row) => {
      let best = 0;
      centres.forEach((c, j) => {
        if (sq(row, c) < sq(row, centres[best]!)) best = j;
      });
      return best;
    });
    if (next.every((a, i) => a === assign[i])) break;
    assign = next;
    centres.forEach((c, j) => {
      const members = x.filter((_, i) => assign[i] === j);
      if (members.length) centres[j] = c.map((_, d) => mean(members.map((m) => m[d]!)));
    });
  }
  return assign;
}
