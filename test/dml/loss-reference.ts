// Plain-JS reference values of the losses: loops over number arrays, written from the papers'
// formulas, independent of the tensor code.
import { dot, euclidean, mean, normalize, relu, type Matrix } from './reference.js';

export interface TripletList {
  anchors: number[];
  positives: number[];
  negatives: number[];
}

const logOnePlusSumExp = (xs: number[]): number => Math.log(1 + xs.reduce((s, x) => s + Math.exp(x), 0));

export function multiSimilarity(rows: Matrix, labels: number[], alpha = 2, beta = 40, base = 0.5, margin = 0.1): number {
  const x = rows.map(normalize);
  const terms: number[] = [];
  x.forEach((anchor, i) => {
    const pos: number[] = [];
    const neg: number[] = [];
    x.forEach((other, k) => {
      if (k === i) return;
      (labels[k] === labels[i] ? pos : neg).push(dot(anchor, other));
    });
    if (!pos.length || !neg.length) return;
    const keptNeg = neg.filter((s) => s + margin > Math.min(...pos));
    const keptPos = pos.filter((s) => s - margin < Math.max(...neg));
    if (!keptNeg.length || !keptPos.length) return;
    terms.push(
      (1 / alpha) * logOnePlusSumExp(keptPos.map((s) => -alpha * (s - base))) +
        (1 / beta) * logOnePlusSumExp(keptNeg.map((s) => beta * (s - base))),
    );
  });
  return mean(terms);
}

const squaredDistance = (a: number[], b: number[]): number => euclidean(a, b) ** 2;

export function triplet(rows: Matrix, t: TripletList, margin = 0.2): number {
  const x = rows.map(normalize);
  return mean(t.anchors.map((a, i) => relu(squaredDistance(x[a]!, x[t.positives[i]!]!) - squaredDistance(x[a]!, x[t.negatives[i]!]!) + margin)));
}

export function contrastive(rows: Matrix, labels: number[], t: TripletList | null, posMargin = 0, negMargin = 1, power = 1): number {
  const x = rows.map(normalize);
  const pos: number[] = [];
  const neg: number[] = [];
  if (t) {
    t.anchors.forEach((a, i) => {
      pos.push(euclidean(x[a]!, x[t.positives[i]!]!));
      neg.push(euclidean(x[a]!, x[t.negatives[i]!]!));
    });
  } else {
    x.forEach((a, i) =>
      x.forEach((b, j) => {
        if (i === j) return;
        (labels[i] === labels[j] ? pos : neg).push(euclidean(a, b));
      }),
    );
  }
  return mean(pos.map((d) => relu(d - posMargin) ** power)) + mean(neg.map((d) => relu(negMargin - d) ** power));
}

export function marginLoss(rows: Matrix, labels: number[], t: TripletList, beta: (label: number) => number, margin = 0.2, nu = 0): number {
  const x = rows.map(normalize);
  let total = 0;
  let nonzero = 0;
  let betaSum = 0;
  t.anchors.forEach((a, i) => {
    const b = beta(labels[a]!);
    betaSum += b;
    const pos = relu(euclidean(x[a]!, x[t.positives[i]!]!) - b + margin);
    const neg = relu(b - euclidean(x[a]!, x[t.negatives[i]!]!) + margin);
    total += pos + neg;
    nonzero += (pos > 0 ? 1 : 0) + (neg > 0 ? 1 : 0);
  });
  return (nonzero > 0 ? total / nonzero : total) + nu * betaSum;
}

function softmaxCrossEntropy(logits: number[], target: number): number {
  const max = Math.max(...logits);
  const lse = max + Math.log(logits.reduce((s, l) => s + Math.exp(l - max), 0));
  return lse - logits[target]!;
}

export function arcFace(rows: Matrix, labels: number[], proxies: Matrix, scale = 64, margin = 0.5): number {
  const x = rows.map(normalize);
  const w = proxies.map(normalize);
  return mean(
    x.map((row, i) => {
      const logits = w.map((p, c) => {
        const cos = dot(row, p);
        if (c !== labels[i]) return scale * cos;
        return scale * (cos > Math.cos(Math.PI - margin) ? Math.cos(Math.acos(cos) + margin) : cos - margin * Math.sin(margin));
      });
      return softmaxCrossEntropy(logits, labels[i]!);
    }),
  );
}

export function proxyAnchor(rows: Matrix, labels: number[], proxies: Matrix, alpha = 32, delta = 0.1): number {
  const x = rows.map(normalize);
  const w = proxies.map(normalize);
  let positive = 0;
  let withPositives = 0;
  let negative = 0;
  w.forEach((p, c) => {
    const pos = x.filter((_, i) => labels[i] === c).map((row) => -alpha * (dot(row, p) - delta));
    const neg = x.filter((_, i) => labels[i] !== c).map((row) => alpha * (dot(row, p) + delta));
    if (pos.length) {
      positive += logOnePlusSumExp(pos);
      withPositives++;
    }
    negative += logOnePlusSumExp(neg);
  });
  return positive / withPositives + negative / w.length;
}

function softmaxRows(m: Matrix, temperature: number): Matrix {
  return m.map((row) => {
    const max = Math.max(...row.map((v) => v / temperature));
    const e = row.map((v) => Math.exp(v / temperature - max));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  });
}

/** KL(softmax(target/T) || softmax(source/T)) summed over rows, x T², / B. */
export function similarityKl(source: Matrix, target: Matrix, temperature: number): number {
  const p = softmaxRows(target, temperature);
  const q = softmaxRows(source, temperature);
  let kl = 0;
  p.forEach((row, i) => row.forEach((v, j) => (kl += v * Math.log(v / q[i]![j]!))));
  return (kl * temperature * temperature) / source.length;
}

export interface Linear {
  weight: Matrix; // [out, in]
  bias: number[];
}

export function linear(x: Matrix, l: Linear): Matrix {
  return x.map((row) => l.weight.map((w, o) => dot(row, w) + l.bias[o]!));
}

export const similarityMatrix = (x: Matrix): Matrix => x.map((a) => x.map((b) => dot(a, b)));
