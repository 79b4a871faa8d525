// One MDProp step against the same step computed in plain PyTorch (bench/golden/mdprop_step.py,
// which also says how to regenerate the fixture). Same initial weights (every BN branch with its
// own scale, shift and statistics), batch, target permutations and random starts; mdprop's own
// model, attack, multi-similarity loss and Adam must reproduce the loss, the adversarial images,
// the joint embeddings and every tensor of the updated model.
//
// Tolerance: |got - want| <= 1e-5 * max(1, |want|), i.e. absolute 1e-5 for values of magnitude up
// to 1 (weights, images, embeddings) and relative 1e-5 above (running variances, the loss when
// larger than 1). Step counters must match exactly.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it, type TestContext } from 'node:test';
import { MultiSimilarityLoss } from '../../src/dml/index.js';
import { buildPieces, methodStep, presetMethod, type DistributionDraws, type MethodSpec } from '../../src/methods/index.js';
import { convertToMultiBatchNorm, EmbeddingModel, RESNET_SPECS, ResNetBackbone } from '../../src/nn/index.js';
import { Adam } from '../../src/optim/index.js';
import { readSafetensors, tidy, type Tensor } from '../../src/torch/index.js';

const FIXTURE = fileURLToPath(new URL('../../../test/methods/fixtures/mdprop_step.safetensors', import.meta.url));
const TOLERANCE = 1e-5;

interface Golden {
  tensors: Map<string, Tensor>;
  meta: Record<string, string>;
}

function get(g: Golden, name: string): Tensor {
  const t = g.tensors.get(name);
  assert.ok(t, `the fixture has no tensor '${name}'`);
  return t;
}

/** Tensors whose names start with `prefix`, with the prefix removed. */
function withPrefix(g: Golden, prefix: string): Map<string, Tensor> {
  return new Map([...g.tensors].filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t]));
}

/** The largest |got - want| / max(1, |want|) over all elements. */
function gap(got: Tensor, want: Tensor, what: string): number {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  const a = got.toNumbers();
  const b = want.toNumbers();
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return worst;
}

function assertClose(got: Tensor, want: Tensor, what: string): number {
  const worst = gap(got, want, what);
  assert.ok(worst <= TOLERANCE, `${what}: differs from PyTorch by ${worst.toExponential(2)} (tolerance ${TOLERANCE})`);
  return worst;
}

function setup(g: Golden): { model: EmbeddingModel; method: MethodSpec; draws: DistributionDraws[]; images: Tensor; labels: Tensor } {
  const widths = JSON.parse(g.meta.widths!) as number[];
  const backbone = new ResNetBackbone({ ...RESNET_SPECS['resnet-small'], widths, inChannels: Number(g.meta.in_channels) });
  const model = convertToMultiBatchNorm(new EmbeddingModel(backbone, Number(g.meta.embed_dim)), Number(g.meta.branches));
  model.loadStateDict(withPrefix(g, 'initial.'));
  const method = presetMethod('mdprop', { eps: Number(g.meta.eps), iters: Number(g.meta.iters), mtaxTargets: Number(g.meta.mtax_targets) });
  const draws = ['stax', 'mtax'].map((name) => {
    const orders = get(g, `draws.${name}.permutations`);
    const [count, rows] = orders.shape as [number, number];
    const flat = orders.toNumbers();
    const permutations = Array.from({ length: count }, (_, j) => flat.slice(j * rows, (j + 1) * rows));
    return { permutations, startNoise: get(g, `draws.${name}.noise`) };
  });
  return { model, method, draws, images: get(g, 'batch.images'), labels: get(g, 'batch.labels') };
}

describe('the MDProp step against PyTorch', () => {
  it('reproduces the loss, the adversarial images and every updated tensor of every BN branch', (t: TestContext) => {
    tidy(() => {
      const { tensors, metadata } = readSafetensors(FIXTURE);
      const g: Golden = { tensors, meta: metadata };
      const { model, method, draws, images, labels } = setup(g);
      const gaps: Record<string, number> = {};

      // The attacks alone: the fixture's adversarial images, and the model untouched by them.
      const before = model.stateDict();
      const beforeValues = new Map([...before].map(([k, v]) => [k, v.clone()]));
      const pieces = buildPieces(model, method, images, labels, draws);
      assert.deepEqual(pieces.map((p) => [p.branch, p.images.shape[0]]), [[0, 10], [1, 5], [2, 5]]);
      gaps.stax = assertClose(pieces[1]!.images, get(g, 'expected.adversarial.stax'), 'STAX images');
      gaps.mtax = assertClose(pieces[2]!.images, get(g, 'expected.adversarial.mtax'), 'MTAX images');
      for (const [name, value] of model.stateDict()) assert.equal(gap(value, beforeValues.get(name)!, name), 0, `${name} changed while attacking`);
      assert.ok(model.parameters().every((p) => p.grad === null), 'attacks left parameter gradients behind');

      // The whole step, with the real loss and optimizer; the joint embeddings are checked on the way.
      const ms = JSON.parse(g.meta.multi_similarity!) as { alpha: number; beta: number; base: number; margin: number };
      const loss = new MultiSimilarityLoss(ms);
      const criterion = {
        compute(embeddings: Tensor, all: Tensor): Tensor {
          gaps.embeddings = assertClose(embeddings, get(g, 'expected.embeddings'), 'joint embeddings');
          return loss.compute(embeddings, all);
        },
      };
      const optimizer = new Adam(model.parameters(), { lr: Number(g.meta.lr), weightDecay: Number(g.meta.weight_decay) });
      const result = methodStep({ model, method, criterion, optimizer }, images, labels, draws);
      optimizer.dispose();
      const wantLoss = get(g, 'expected.loss').item();
      gaps.loss = Math.abs(result.loss - wantLoss) / Math.max(1, Math.abs(wantLoss));
      assert.ok(gaps.loss <= TOLERANCE, `loss ${result.loss} vs PyTorch ${wantLoss}`);
      assert.deepEqual(result.samplesPerBranch, [10, 5, 5]);

      const expected = withPrefix(g, 'expected.');
      const after = model.stateDict();
      assert.equal(after.size, before.size);
      let worstState = 0;
      for (const [name, value] of after) {
        const want = expected.get(name);
        assert.ok(want, `the fixture has no expected value for ${name}`);
        if (name.endsWith('num_batches_tracked')) assert.equal(value.item(), want.item(), name);
        else worstState = Math.max(worstState, assertClose(value, want, name));
      }
      gaps.state = worstState;
      t.diagnostic(`largest differences from PyTorch: ${JSON.stringify(Object.fromEntries(Object.entries(gaps).map(([k, v]) => [k, Number(v.toExponential(2))])))}`);
    });
  });
});
