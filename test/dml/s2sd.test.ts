import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLoss, defaultLossSpec, MultiSimilarityLoss, S2sdLoss } from '../../src/dml/index.js';
import { grad, liveTensors, manualSeed, tidy, type Tensor } from '../../src/torch/index.js';
import { checkGradient } from '../helpers/gradcheck.js';
import * as ref from './loss-reference.js';
import { LABELS, labelTensor, leaf, randomRows, toMatrix } from './fixtures.js';
import { normalize, type Matrix } from './reference.js';

manualSeed(8); // the heads' initial weights
const embeddings = randomRows(2, LABELS.length, 4);
const features = randomRows(3, LABELS.length, 5, 2);
const options = { featureDim: 5, targetDims: [6, 7], dtype: 'float64' as const };

function heads(loss: S2sdLoss): ref.Linear[][] {
  const params = loss.parameterGroups().find((g) => g.name === 's2sd.heads')!.params;
  const out: ref.Linear[][] = [];
  for (let i = 0; i < params.length; i += 4) {
    const [w1, b1, w2, b2] = params.slice(i, i + 4).map((t) => tidy(() => (t.ndim === 2 ? toMatrix(t) : [t.toNumbers()])));
    out.push([{ weight: w1!, bias: b1![0]! }, { weight: w2!, bias: b2![0]! }]);
  }
  return out;
}

/** The S2SD objective written out: (L(e) + mean_k L(g_k)) / 2 + w · mean_k KL_k. */
function reference(loss: S2sdLoss, weight: number, temperature: number, featureWeight = 0): number {
  const e = embeddings.map(normalize);
  const source = ref.similarityMatrix(e);
  const headOutputs: Matrix[] = heads(loss).map(([first, second]) =>
    ref.linear(ref.linear(features, first!).map((r) => r.map((v) => Math.max(0, v))), second!).map(normalize),
  );
  const baseLoss = ref.multiSimilarity(embeddings, LABELS);
  const headLoss = headOutputs.reduce((s, h) => s + ref.multiSimilarity(h, LABELS), 0) / headOutputs.length;
  const kl = headOutputs.reduce((s, h) => s + ref.similarityKl(source, ref.similarityMatrix(h), temperature), 0) / headOutputs.length;
  const featureKl = featureWeight ? featureWeight * ref.similarityKl(source, ref.similarityMatrix(features.map(normalize)), temperature) : 0;
  return (baseLoss + headLoss) / 2 + weight * kl + featureKl;
}

function run(loss: S2sdLoss, e: Tensor, f: Tensor): Tensor {
  return loss.compute(e, labelTensor(LABELS), { features: f });
}

describe('S2SD distillation over a base loss', () => {
  it('has the published defaults and builds one base loss per head', () => {
    const loss = new S2sdLoss(() => new MultiSimilarityLoss(), 4, { featureDim: 5 });
    assert.deepEqual([loss.temperature, loss.weight, loss.featureDistillation], [1, 50, false]);
    assert.equal(loss.parameterGroups()[0]!.params.length, 4 * 4); // four heads: 512, 1024, 1536, 2048
    loss.dispose();
  });

  it('matches the hand-computed objective', () => {
    const loss = new S2sdLoss(() => new MultiSimilarityLoss(), 4, { ...options, weight: 3, temperature: 0.5 });
    const value = tidy(() => run(loss, leaf(embeddings), leaf(features)).item());
    const expected = reference(loss, 3, 0.5);
    assert.ok(Math.abs(value - expected) < 1e-9, `${value} vs ${expected}`);
    loss.dispose();
  });

  it('adds feature distillation after its delay', () => {
    const loss = new S2sdLoss(() => new MultiSimilarityLoss(), 4, { ...options, weight: 3, featureDistillation: { weight: 2, delaySteps: 1 } });
    const first = tidy(() => run(loss, leaf(embeddings), leaf(features)).item());
    const second = tidy(() => run(loss, leaf(embeddings), leaf(features)).item());
    assert.ok(Math.abs(first - reference(loss, 3, 1)) < 1e-9, 'step 0: not yet');
    assert.ok(Math.abs(second - reference(loss, 3, 1, 2)) < 1e-9, 'step 1: with feature distillation');
    loss.dispose();
  });

  it('has the finite-difference gradient for embeddings, features and head weights', () => {
    const loss = new S2sdLoss(() => new MultiSimilarityLoss(), 4, { ...options, weight: 3 });
    // The heads' similarity matrices are distillation targets without gradient, so the features
    // and heads are checked on the objective without that term, and shown to be untouched by it.
    const undistilled = new S2sdLoss(() => new MultiSimilarityLoss(), 4, { ...options, weight: 0 });
    tidy(() => {
      for (const [i, p] of undistilled.parameters().entries()) p.detach().copy_(loss.parameters()[i]!.detach());
      const e = leaf(embeddings);
      const f = leaf(features);
      checkGradient(() => run(loss, e, f), e, { what: 's2sd embeddings' });
      checkGradient(() => run(undistilled, e, f), f, { what: 's2sd features' });
      checkGradient(() => run(undistilled, e, f), undistilled.parameters()[2]!, { what: 's2sd head 0 second layer' });
      const [withKl] = grad(run(loss, e, f), [f]);
      const [withoutKl] = grad(run(undistilled, e, f), [f]);
      assert.ok(withKl!.sub(withoutKl!).abs().max().item() < 1e-12, 'distillation sends no gradient into the heads');
    });
    loss.dispose();
    undistilled.dispose();
  });

  it('collects the learnable parameters of its heads and of every base-loss copy', () => {
    const loss = createLoss({ loss: { name: 'arcface', numClasses: 3 }, embeddingDim: 4, s2sd: { featureDim: 5, targetDims: [6, 7] } });
    const groups = loss.parameterGroups();
    assert.deepEqual(groups.map((g) => g.name), ['s2sd.heads', 'arcface.proxies', 's2sd.head0.arcface.proxies', 's2sd.head1.arcface.proxies']);
    assert.deepEqual(groups.slice(1).map((g) => g.params[0]!.shape), [[3, 4], [3, 6], [3, 7]]);
    assert.equal(loss.parameters().length, 8 + 3);
    loss.dispose();
  });

  it('places every learnable tensor where the config says', () => {
    const loss = createLoss({ loss: { name: 'proxyanchor', numClasses: 3 }, embeddingDim: 4, s2sd: { featureDim: 5, targetDims: [6] }, placement: { dtype: 'float64' } });
    assert.deepEqual([...new Set(loss.parameters().map((p) => p.dtype))], ['float64']);
    loss.dispose();
  });

  it('asks for the backbone features and leaks nothing', () => {
    const before = liveTensors();
    const loss = createLoss({ loss: defaultLossSpec('multisimilarity', { numClasses: 3, embeddingDim: 4 }), embeddingDim: 4, s2sd: { featureDim: 5, targetDims: [6] } });
    const float32 = (m: Matrix): Tensor => leaf(m).detach().to('float32').setRequiresGrad(true);
    assert.throws(() => tidy(() => loss.compute(float32(embeddings), labelTensor(LABELS))), /needs the backbone features/);
    tidy(() => run(loss as S2sdLoss, float32(embeddings), float32(features)).backward());
    loss.dispose();
    assert.equal(liveTensors(), before);
  });
});
