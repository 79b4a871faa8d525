// Clustering quality against the class labels, from the contingency table of classes x clusters.
//   NMI = I(Y; C) / ((H(Y) + H(C)) / 2)   (arithmetic normalisation, scikit-learn's default)
//   F1  over pairs of samples (as in the DML literature since Song et al. 2016): a pair is a
//       true positive when both samples share a class and a cluster;
//       precision = TP / pairs sharing a cluster, recall = TP / pairs sharing a class,
//       F1 = 2 P R / (P + R).

interface Contingency {
  /** Count of each (class, cluster) cell that occurs. */
  cells: Map<number, number>;
  classSizes: Map<number, number>;
  clusterSizes: Map<number, number>;
  n: number;
}

function contingency(classes: ArrayLike<number>, clusters: ArrayLike<number>): Contingency {
  if (classes.length !== clusters.length) throw new RangeError(`clustering: ${classes.length} labels but ${clusters.length} assignments`);
  const cells = new Map<number, number>();
  const classSizes = new Map<number, number>();
  const clusterSizes = new Map<number, number>();
  let maxCluster = 0;
  for (let i = 0; i < clusters.length; i++) maxCluster = Math.max(maxCluster, clusters[i]!);
  const stride = maxCluster + 1;
  for (let i = 0; i < classes.length; i++) {
    const y = classes[i]!;
    const c = clusters[i]!;
    const cell = y * stride + c;
    cells.set(cell, (cells.get(cell) ?? 0) + 1);
    classSizes.set(y, (classSizes.get(y) ?? 0) + 1);
    clusterSizes.set(c, (clusterSizes.get(c) ?? 0) + 1);
  }
  return { cells, classSizes, clusterSizes, n: classes.length };
}

function entropy(sizes: Iterable<number>, n: number): number {
  let h = 0;
  for (const s of sizes) if (s > 0) h -= (s / n) * Math.log(s / n);
  return h;
}

/** Normalised mutual information between class labels and cluster assignments, in [0, 1]. */
export function normalizedMutualInformation(classes: ArrayLike<number>, clusters: ArrayLike<number>): number {
  const t = contingency(classes, clusters);
  if (t.n === 0) return 0;
  const hClasses = entropy(t.classSizes.values(), t.n);
  const hClusters = entropy(t.clusterSizes.values(), t.n);
  // One class and one cluster: identical partitions (scikit-learn's convention).
  if (hClasses === 0 && hClusters === 0) return 1;
  const stride = Math.max(...t.clusterSizes.keys()) + 1;
  let mutual = 0;
  for (const [cell, count] of t.cells) {
    const a = t.classSizes.get(Math.floor(cell / stride))!;
    const b = t.clusterSizes.get(cell % stride)!;
    mutual += (count / t.n) * Math.log((t.n * count) / (a * b));
  }
  return Math.min(1, Math.max(0, mutual / ((hClasses + hClusters) / 2)));
}

const pairs = (m: number): number => (m * (m - 1)) / 2;

/** Pair-counting F1 of a clustering against class labels, in [0, 1]. */
export function pairF1(classes: ArrayLike<number>, clusters: ArrayLike<number>): number {
  const t = contingency(classes, clusters);
  let truePositives = 0;
  for (const count of t.cells.values()) truePositives += pairs(count);
  let sameCluster = 0;
  for (const size of t.clusterSizes.values()) sameCluster += pairs(size);
  let sameClass = 0;
  for (const size of t.classSizes.values()) sameClass += pairs(size);
  if (truePositives === 0 || sameCluster === 0 || sameClass === 0) return 0;
  const precision = truePositives / sameCluster;
  const recall = truePositives / sameClass;
  return (2 * precision * recall) / (precision + recall);
}
