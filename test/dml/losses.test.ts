import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ArcFaceLoss,
  ContrastiveLoss,
  MarginLoss,
  MultiSimilarityLoss,
  ProxyAnchorLoss,
  TripletLoss,
} from '../../src/dml/index.js';
import { liveTensors, manualSeed, tidy, type Tensor } from '../../src/torch/index.js';
import { checkGradient } from '../helpers/gradcheck.js';
import * as ref from './loss-reference.js';
import { FixedMiner, fixedTriplets, LABELS, labelTensor, leaf, randomRows, toMatrix } from './fixtures.js';

manualSeed(7); // proxies and miners draw from libtorch's generator
const rows = randomRows(1, LABELS.length, 4);

function cosine(a: number[], b: number[]): number {
  const d = a.reduce((s, v, i) => s + v * b[i]!, 0);
  return d / Math.hypot(...a) / Math.hypot(...b);
}
const triplets = fixedTriplets(LABELS);

function value(compute: (x: Tensor, y: Tensor) => Tensor, input = rows, labels = LABELS): number {
  return tidy(() => compute(leaf(input), labelTensor(labels)).item());
}

function close(actual: number, expected: number, what: string, tolerance = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs reference ${expected}`);
}

function gradientWrtEmbeddings(compute: (x: Tensor, y: Tensor) => Tensor, what: string, input = rows): void {
  tidy(() => {
    const x = leaf(input);
    const y = labelTensor(LABELS);
    checkGradient(() => compute(x, y), x, { what });
  });
}

describe('multi-similarity loss', () => {
  const loss = new MultiSimilarityLoss();
  it('has the paper defaults', () => {
    assert.deepEqual([loss.alpha, loss.beta, loss.base, loss.margin, loss.distance.name], [2, 40, 0.5, 0.1, 'cosine']);
  });
  it('matches the hand-computed value', () => {
    const expected = ref.multiSimilarity(rows, LABELS);
    assert.ok(expected > 0);
    close(value((x, y) => loss.compute(x, y)), expected, 'multisimilarity');
    const other = new MultiSimilarityLoss({ alpha: 3, beta: 10, base: 0.2, margin: 0.3 });
    close(value((x, y) => other.compute(x, y)), ref.multiSimilarity(rows, LABELS, 3, 10, 0.2, 0.3), 'multisimilarity(3,10,0.2,0.3)');
  });
  it('is 0 when no anchor keeps a pair', () => {
    // Two tight, far-apart classes: every positive is closer than every negative by more than the margin.
    const separated = [[1, 0], [0.99, 0.05], [-1, 0], [-0.99, 0.05]];
    close(value((x, y) => loss.compute(x, y), separated, [0, 0, 1, 1]), 0, 'separated');
  });
  it('has the finite-difference gradient', () => gradientWrtEmbeddings((x, y) => loss.compute(x, y), 'multisimilarity'));
});

describe('triplet loss', () => {
  const loss = new TripletLoss({ miner: new FixedMiner(triplets) });
  it('defaults to margin 0.2, squared Euclidean, semi-hard mining', () => {
    const plain = new TripletLoss();
    assert.deepEqual([plain.margin, plain.distance.name, plain.miner.name], [0.2, 'squaredEuclidean', 'semihard']);
  });
  it('matches the hand-computed value', () => {
    const expected = ref.triplet(rows, triplets);
    assert.ok(expected > 0);
    close(value((x, y) => loss.compute(x, y)), expected, 'triplet');
  });
  it('mirrors its rule for cosine similarity', () => {
    const cosine = new TripletLoss({ distance: 'cosine', margin: 0.3, miner: new FixedMiner(triplets) });
    const x = rows.map((r) => {
      const n = Math.hypot(...r);
      return r.map((v) => v / n);
    });
    const sim = (a: number, b: number): number => x[a]!.reduce((s, v, i) => s + v * x[b]![i]!, 0);
    const expected = triplets.anchors.reduce((s, a, i) => s + Math.max(0, sim(a, triplets.negatives[i]!) - sim(a, triplets.positives[i]!) + 0.3), 0) / triplets.anchors.length;
    close(value((xx, y) => cosine.compute(xx, y)), expected, 'triplet(cosine)');
  });
  it('has the finite-difference gradient', () => gradientWrtEmbeddings((x, y) => loss.compute(x, y), 'triplet'));
});

describe('contrastive loss', () => {
  const mined = new ContrastiveLoss({ miner: new FixedMiner(triplets) });
  const allPairs = new ContrastiveLoss({ miner: null, posMargin: 0.1, negMargin: 1.2, power: 2 });
  it('defaults to margins 0 and 1, power 1, Euclidean, distance-weighted mining', () => {
    const plain = new ContrastiveLoss();
    assert.deepEqual([plain.posMargin, plain.negMargin, plain.power, plain.distance.name, plain.miner?.name], [0, 1, 1, 'euclidean', 'distanceweighted']);
  });
  it('matches the hand-computed values', () => {
    close(value((x, y) => mined.compute(x, y)), ref.contrastive(rows, LABELS, triplets), 'contrastive(mined)');
    close(value((x, y) => allPairs.compute(x, y)), ref.contrastive(rows, LABELS, null, 0.1, 1.2, 2), 'contrastive(all pairs)');
  });
  it('has the finite-difference gradient', () => {
    gradientWrtEmbeddings((x, y) => mined.compute(x, y), 'contrastive(mined)');
    gradientWrtEmbeddings((x, y) => allPairs.compute(x, y), 'contrastive(all pairs)');
  });
});

describe('margin loss', () => {
  const betas = [1.1, 1.25, 0.9];
  function perClass(nu = 0): MarginLoss {
    const loss = new MarginLoss({ beta: { kind: 'perClass', numClasses: 3 }, nu, dtype: 'float64', miner: new FixedMiner(triplets) });
    tidy(() => loss.beta.detach().copy_(leaf([betas]).detach().view([3])));
    return loss;
  }
  it('has the paper defaults and a separate beta learning rate', () => {
    const plain = new MarginLoss();
    assert.deepEqual([plain.margin, Math.abs(plain.beta.toNumbers()[0]! - 1.2) < 1e-6, plain.miner.name], [0.2, true, 'distanceweighted']);
    assert.deepEqual(plain.parameterGroups().map((g) => [g.name, g.learningRate]), [['margin.beta', { kind: 'absolute', value: 5e-4 }]]);
    plain.dispose();
  });
  it('matches the hand-computed value with class betas', () => {
    const loss = perClass(0.01);
    close(value((x, y) => loss.compute(x, y)), ref.marginLoss(rows, LABELS, triplets, (c) => betas[c]!, 0.2, 0.01), 'margin');
    loss.dispose();
  });
  it('has the finite-difference gradient for embeddings and beta', () => {
    const loss = perClass(0.01);
    gradientWrtEmbeddings((x, y) => loss.compute(x, y), 'margin');
    tidy(() => {
      const x = leaf(rows);
      const y = labelTensor(LABELS);
      checkGradient(() => loss.compute(x, y), loss.beta, { what: 'margin beta' });
    });
    loss.dispose();
  });
});

describe('ArcFace loss', () => {
  it('has the paper defaults and owns its proxies', () => {
    const loss = new ArcFaceLoss({ numClasses: 3, embeddingDim: 4 });
    assert.deepEqual([loss.scale, loss.margin, loss.proxies.shape, loss.proxies.requiresGrad], [64, 0.5, [3, 4], true]);
    assert.deepEqual(loss.parameters(), [loss.proxies]);
    loss.dispose();
  });
  it('matches the hand-computed value, including the linear branch past π - m', () => {
    const loss = new ArcFaceLoss({ numClasses: 3, embeddingDim: 4, dtype: 'float64', scale: 8, margin: 0.5 });
    const proxies = randomRows(5, 3, 4);
    tidy(() => loss.proxies.detach().copy_(leaf(proxies).detach()));
    close(value((x, y) => loss.compute(x, y)), ref.arcFace(rows, LABELS, proxies, 8, 0.5), 'arcface');
    // An embedding opposite its class proxy takes the cos θ - m sin m branch.
    const opposite = [proxies[0]!.map((v, i) => -v + 0.1 * rows[0]![i]!), ...rows.slice(1)];
    assert.ok(cosine(opposite[0]!, proxies[0]!) < Math.cos(Math.PI - 0.5), 'the case reaches the linear branch');
    close(value((x, y) => loss.compute(x, y), opposite), ref.arcFace(opposite, LABELS, proxies, 8, 0.5), 'arcface(opposite)');
    loss.dispose();
  });
  it('has the finite-difference gradient for embeddings and proxies', () => {
    const loss = new ArcFaceLoss({ numClasses: 3, embeddingDim: 4, dtype: 'float64', scale: 8 });
    gradientWrtEmbeddings((x, y) => loss.compute(x, y), 'arcface');
    tidy(() => {
      const x = leaf(rows);
      const y = labelTensor(LABELS);
      checkGradient(() => loss.compute(x, y), loss.proxies, { what: 'arcface proxies' });
    });
    loss.dispose();
  });
  it('rejects labels outside its classes', () => {
    const loss = new ArcFaceLoss({ numClasses: 2, embeddingDim: 4 });
    assert.throws(() => value((x, y) => loss.compute(x, y)), /labels must lie in \[0, 2\)/);
    loss.dispose();
  });
});

describe('Proxy-Anchor loss', () => {
  it('has the paper defaults and trains proxies at 100x', () => {
    const loss = new ProxyAnchorLoss({ numClasses: 3, embeddingDim: 4 });
    assert.deepEqual([loss.alpha, loss.delta], [32, 0.1]);
    assert.deepEqual(loss.parameterGroups()[0]!.learningRate, { kind: 'scale', factor: 100 });
    loss.dispose();
  });
  it('matches the hand-computed value (a proxy without samples counts only in the negative term)', () => {
    const loss = new ProxyAnchorLoss({ numClasses: 4, embeddingDim: 4, dtype: 'float64' });
    const proxies = tidy(() => toMatrix(loss.proxies));
    close(value((x, y) => loss.compute(x, y)), ref.proxyAnchor(rows, LABELS, proxies), 'proxyanchor');
    loss.dispose();
  });
  it('has the finite-difference gradient for embeddings and proxies', () => {
    const loss = new ProxyAnchorLoss({ numClasses: 3, embeddingDim: 4, dtype: 'float64', alpha: 4 });
    gradientWrtEmbeddings((x, y) => loss.compute(x, y), 'proxyanchor');
    tidy(() => {
      const x = leaf(rows);
      const y = labelTensor(LABELS);
      checkGradient(() => loss.compute(x, y), loss.proxies, { what: 'proxyanchor proxies' });
    });
    loss.dispose();
  });
});

describe('loss memory', () => {
  it('computing and differentiating leaves no tensor behind', () => {
    const losses = [
      new MultiSimilarityLoss(),
      new TripletLoss(),
      new ContrastiveLoss(),
      new MarginLoss({ beta: { kind: 'perClass', numClasses: 3 } }),
      new ArcFaceLoss({ numClasses: 3, embeddingDim: 4 }),
      new ProxyAnchorLoss({ numClasses: 3, embeddingDim: 4 }),
    ];
    const before = liveTensors();
    for (const loss of losses) {
      tidy(() => {
        const x = leaf(rows).detach().to('float32').setRequiresGrad(true);
        const l = loss.compute(x, labelTensor(LABELS));
        l.backward();
        for (const p of [x, ...loss.parameters()]) assert.ok(p.grad, `${loss.name}: gradient reaches every parameter`);
      });
    }
    assert.equal(liveTensors(), before);
    for (const loss of losses) loss.dispose();
    assert.equal(liveTensors(), before - 3);
  });
});
