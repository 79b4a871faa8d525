// Methods: presets, validation, distributions, and the joint training step.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attackObjective, permutedTargets } from '../../src/adversarial/pgd.js';
import {
  buildPieces,
  distributionJobs,
  jointAttackPays,
  makeDistribution,
  makeDistributions,
  methodStep,
  modelParameterGroups,
  NonFiniteLossError,
  partRows,
  presetMethod,
  sameClassPartners,
  validateMethod,
  type DistributionDraws,
  type MethodSpec,
} from '../../src/methods/index.js';
import { convertToMultiBatchNorm, createModel, multiBatchNorms, setBnRouting, type Conv2d, type EmbeddingModel } from '../../src/nn/index.js';
import { Adam, SGD } from '../../src/optim/index.js';
import * as T from '../../src/torch/index.js';
import { F, noGrad, tidy, type Tensor } from '../../src/torch/index.js';

/** A simple differentiable criterion: pull same-label embeddings together, push others apart. */
const criterion = {
  compute(e: Tensor, labels: Tensor): Tensor {
    return tidy(() => {
      const d = F.squaredDistances(e, e);
      const same = labels.unsqueeze(1).eq(labels.unsqueeze(0)).to('float32');
      return d.mul(same).mean().sub(d.mul(same.rsub(1)).mean());
    });
  },
};

function smallModel(branches: number, seed = 1): EmbeddingModel {
  T.manualSeed(seed);
  return convertToMultiBatchNorm(createModel({ arch: 'resnet-small', embedDim: 8, inChannels: 1 }), branches);
}

function batch(n = 8): { images: Tensor; labels: Tensor } {
  T.manualSeed(9);
  const labels = T.tensor(Array.from({ length: n }, (_, i) => Math.floor(i / 2)), [n], { dtype: 'int64' });
  return { images: T.randn([n, 1, 12, 12]), labels };
}

/** Gives every BN branch its own scale, shift and running statistics, so using the wrong one shows. */
function distinctBranches(model: EmbeddingModel): void {
  tidy(() => {
    T.manualSeed(5);
    noGrad(() => {
      for (const m of multiBatchNorms(model)) {
        for (let k = 0; k < m.branches; k++) {
          const bn = m.branch(k);
          const c = bn.numFeatures;
          bn.weight!.copy_(T.randn([c]).mul(0.25).add(1));
          bn.bias!.copy_(T.randn([c]).mul(0.2));
          bn.runningMean!.copy_(T.randn([c]).mul(0.3));
          bn.runningVar!.copy_(T.rand([c]).add(0.5));
        }
      }
    });
  });
}

/** Fixed draws for MDProp on a batch of 8: derangements as targets (no row its own target), small starts. */
function fixedDraws(): DistributionDraws[] {
  T.manualSeed(11);
  return [
    { permutations: [[1, 0, 3, 2]], startNoise: T.uniform([4, 1, 12, 12], -5e-4, 5e-4) },
    {
      permutations: [[1, 2, 3, 0], [3, 0, 1, 2], [2, 3, 0, 1], [1, 0, 3, 2], [3, 2, 1, 0]],
      startNoise: T.uniform([4, 1, 12, 12], -5e-4, 5e-4),
    },
  ];
}

/** MDProp's attack (eps 0.01, one sign step) written out: eval mode, routed by hand to `branch`. */
function handAttack(model: EmbeddingModel, branch: number, x: Tensor, draws: DistributionDraws, eps = 0.01): Tensor {
  return tidy(() => {
    model.eval();
    setBnRouting(model, { kind: 'branch', branch });
    const clean = noGrad(() => model.forward(x));
    const targets = draws.permutations!.map((order) => clean.indexSelect(0, T.tensor([...order], [order.length], { dtype: 'int64' })));
    const lo = x.sub(eps).maximum(x.min());
    const hi = x.add(eps).minimum(x.max());
    const leaf = x.add(draws.startNoise!).maximum(lo).minimum(hi).setRequiresGrad(true);
    const f = model.forward(leaf);
    const distance = targets.map((t) => t.sub(f).norm(2, 1).mean()).reduce((a, b) => a.add(b)).div(targets.length);
    const [g] = T.grad(distance.square(), [leaf]);
    const adv = noGrad(() => leaf.detach().sub(g!.sign().mul(eps)).maximum(lo).minimum(hi));
    setBnRouting(model, { kind: 'branch', branch: 0 });
    return adv;
  });
}

function maxAbsDiff(a: Tensor, b: Tensor): number {
  return tidy(() => a.sub(b).abs().max().item());
}

function stateValues(model: EmbeddingModel): Map<string, number[]> {
  return tidy(() => new Map([...model.stateDict()].map(([name, t]) => [name, t.toNumbers()])));
}

/** Per-channel mean and unbiased variance of [N, C, H, W], in plain arithmetic. */
function channelStats(x: Tensor): { mean: number[]; variance: number[] } {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const v = x.toNumbers();
  const mean: number[] = [];
  const variance: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    const values: number[] = [];
    for (let i = 0; i < n; i++) for (let j = 0; j < h * w; j++) values.push(v[(i * c + ch) * h * w + j]!);
    const m = values.reduce((a, b) => a + b, 0) / values.length;
    mean.push(m);
    variance.push(values.reduce((a, b) => a + (b - m) ** 2, 0) / (values.length - 1));
  }
  return { mean, variance };
}

function assertNear(got: number[], want: number[], what: string): void {
  got.forEach((g, i) => assert.ok(Math.abs(g - want[i]!) <= 1e-5 * Math.max(1, Math.abs(want[i]!)), `${what}[${i}]: ${g} vs ${want[i]}`));
}

describe('method specs', () => {
  it('presets follow the paper', () => {
    assert.deepEqual(presetMethod('baseline').distributions, []);
    const adv = presetMethod('advprop-d');
    assert.equal(adv.branches, 2);
    assert.deepEqual(adv.distributions[0], { kind: 'targeted', targets: 1, eps: 0.01, iters: 1, part: [0, 1], branch: 1 });
    const md = presetMethod('mdprop', { eps: 0.02, mtaxTargets: 3 });
    assert.equal(md.branches, 3);
    assert.deepEqual(
      md.distributions.map((d) => [d.targets, d.part, d.branch, d.eps]),
      [
        [1, [0, 0.5], 1, 0.02],
        [3, [0.5, 1], 2, 0.02],
      ],
    );
  });

  it('validation names the entry and field', () => {
    const bad: MethodSpec = { name: 'x', branches: 2, distributions: [{ kind: 'targeted', targets: 0, eps: 0.1, iters: 1, part: [0, 1], branch: 1 }] };
    assert.throws(() => validateMethod(bad), /distributions\[0\]\.targets/);
    assert.throws(() => validateMethod({ ...bad, distributions: [{ ...bad.distributions[0]!, targets: 1, branch: 2 }] }), /distributions\[0\]\.branch/);
    assert.throws(() => validateMethod({ ...bad, distributions: [{ ...bad.distributions[0]!, targets: 1, part: [0.5, 0.5] }] }), /part/);
  });

  it('parts map to rows', () => {
    assert.deepEqual(partRows([0, 0.5], 32), [0, 16]);
    assert.deepEqual(partRows([0.5, 1], 32), [16, 32]);
    assert.deepEqual(partRows([0, 0.5], 5), [0, 3], 'a half row goes to the first part');
    assert.deepEqual(partRows([0.5, 1], 5), [3, 5]);
    assert.deepEqual(partRows([0.9, 1], 3), [2, 3], 'a thin last part keeps a row');
    assert.deepEqual(partRows([0, 0.1], 3), [0, 1], 'a thin first part keeps a row');
    assert.deepEqual(partRows([0, 1], 1), [0, 1]);
  });

  /** Every row of the batch covered exactly once, every part non-empty and within a row of its share. */
  function assertTiles(parts: readonly (readonly [number, number])[], size: number): void {
    const cover = new Array<number>(size).fill(0);
    for (const part of parts) {
      const [start, end] = partRows(part, size);
      assert.ok(end > start, `size ${size}: part [${part.join(', ')}] is empty`);
      assert.ok(Math.abs(end - start - (part[1] - part[0]) * size) <= 1, `size ${size}: part [${part.join(', ')}] has ${end - start} rows`);
      for (let r = start; r < end; r++) cover[r]! += 1;
    }
    assert.deepEqual(cover, new Array<number>(size).fill(1), `size ${size}: rows covered ${cover.join(',')}`);
  }

  it('adjacent parts tile odd and even batches without overlap or gap', () => {
    const halves = presetMethod('mdprop').distributions.map((d) => d.part);
    const thirds = [[0, 1 / 3], [1 / 3, 2 / 3], [2 / 3, 1]] as const;
    const uneven = [[0, 0.1], [0.1, 0.75], [0.75, 1]] as const;
    for (const size of [2, 3, 4, 5, 7, 8, 9, 64, 65, 112]) assertTiles(halves, size);
    for (const size of [3, 5, 7, 65]) {
      assertTiles(thirds, size);
      assertTiles(uneven, size);
    }
  });

  it('same-class partners are other rows of the same class', () => {
    const labels = [0, 0, 1, 1, 1, 2];
    const partners = sameClassPartners(labels);
    partners.forEach((j, i) => {
      assert.equal(labels[j], labels[i]);
      if (i !== 5) assert.notEqual(j, i);
    });
    assert.equal(partners[5], 5, 'a class with one row keeps itself');
  });
});

describe('distributions', () => {
  it('STAX and MTAX examples move embeddings towards their targets', () => {
    tidy(() => {
      const model = smallModel(3);
      model.eval();
      const { images, labels } = batch();
      for (const [branch, targets] of [
        [1, 1],
        [2, 5],
      ] as const) {
        T.manualSeed(100 + branch);
        const clean = noGrad(() => model.forward(images));
        const goalTargets = noGrad(() => permutedTargets(clean, targets));
        // Same targets as makeDistribution draws: reseed so its randperm calls repeat ours.
        T.manualSeed(100 + branch);
        const adv = makeDistribution(model, { kind: 'targeted', targets, eps: 0.5, iters: 5, part: [0, 1], branch }, images, labels);
        const before = noGrad(() => attackObjective(clean, { kind: 'targeted', targets: goalTargets }).item());
        const after = noGrad(() => attackObjective(model.forward(adv), { kind: 'targeted', targets: goalTargets }).item());
        assert.ok(after < before, `branch ${branch}, T=${targets}: ${before} -> ${after}`);
        assert.ok(adv.sub(images).abs().max().item() <= 0.5 + 1e-6);
      }
    });
  });
});

describe('unadversarial examples', () => {
  it('move each embedding towards its same-class partner', () => {
    tidy(() => {
      const model = smallModel(2);
      model.eval();
      const { images, labels } = batch();
      const labelList = labels.toNumbers();
      // The partners makeDistribution draws: reseed so its randperm repeats this one.
      T.manualSeed(31);
      const partners = sameClassPartners(labelList);
      T.manualSeed(31);
      const adv = makeDistribution(model, { kind: 'unadversarial', targets: 1, eps: 0.5, iters: 5, part: [0, 1], branch: 1 }, images, labels);
      const dim = 8;
      const clean = noGrad(() => model.forward(images)).toFloat32Array();
      const moved = noGrad(() => model.forward(adv)).toFloat32Array();
      const distance = (a: Float32Array, i: number, j: number) => Math.hypot(...Array.from({ length: dim }, (_, d) => a[i * dim + d]! - clean[j * dim + d]!));
      const before = partners.map((j, i) => distance(clean, i, j));
      const after = partners.map((j, i) => distance(moved, i, j));
      partners.forEach((j, i) => {
        assert.notEqual(j, i, `row ${i} has a partner of its class`);
        assert.equal(labelList[j], labelList[i]);
        assert.ok(after[i]! < before[i]!, `row ${i}: ${before[i]} -> ${after[i]} from its partner ${j}`);
      });
      assert.ok(adv.sub(images).abs().max().item() <= 0.5 + 1e-6);
    });
  });
});

describe('one routed attack pass or one per distribution', () => {
  it('give the same examples, draw for draw', () => {
    tidy(() => {
      const model = smallModel(3);
      distinctBranches(model);
      model.eval();
      const { images, labels } = batch();
      const method = presetMethod('mdprop');
      const jobs = () => distributionJobs(method, images, labels);
      T.manualSeed(21);
      const joint = makeDistributions(model, jobs());
      T.manualSeed(21);
      const separate = jobs().map((j) => makeDistribution(model, j.spec, j.images, j.labels));
      for (const k of [0, 1]) assert.ok(maxAbsDiff(joint[k]!, separate[k]!) < 1e-6, `distribution ${k + 1}`);
      assert.ok(maxAbsDiff(joint[0]!, images.narrow(0, 0, 4)) > 0, 'the examples are perturbed');
    });
  });

  it('on a CPU, each distribution gets its own pass in float32, and one routed pass with 16-bit activations', () => {
    tidy(() => {
      const spec = presetMethod('mdprop').distributions[0]!;
      const job = (shape: number[]) => ({ spec, images: T.empty(shape), labels: T.zeros([shape[0]!], { dtype: 'int64' }) });
      assert.equal(jointAttackPays([job([16, 3, 64, 64]), job([16, 3, 64, 64])]), false);
      assert.equal(jointAttackPays([job([64, 3, 64, 64])]), false, 'one distribution has nothing to share');
      assert.equal(jointAttackPays([job([16, 3, 64, 64]), job([16, 3, 64, 64])], true), true);
      assert.equal(jointAttackPays([job([64, 3, 64, 64])], true), false);
    });
  });
});

describe('the joint training step', () => {
  it('attacks run in eval mode, each through its own branch, and leave the model untouched', () => {
    tidy(() => {
      const model = smallModel(3);
      distinctBranches(model);
      const { images, labels } = batch();
      const draws = fixedDraws();
      // Hand-made attacks first, from the untouched model: each through its branch, in eval mode.
      const want = [1, 2].map((k) => handAttack(model, k, images.narrow(0, 4 * (k - 1), 4), draws[k - 1]!));
      const throughMain = handAttack(model, 0, images.narrow(0, 0, 4), draws[0]!);
      assert.ok(maxAbsDiff(throughMain, want[0]!) > 1e-3, 'the branches must be told apart by the attack');
      const before = stateValues(model);
      const pieces = buildPieces(model, presetMethod('mdprop'), images, labels, draws);
      assert.deepEqual(pieces.map((p) => p.branch), [0, 1, 2]);
      for (const k of [1, 2]) assert.ok(maxAbsDiff(pieces[k]!.images, want[k - 1]!) < 1e-6, `distribution ${k} was attacked through another branch or in train mode`);
      for (const [name, values] of stateValues(model)) assert.deepEqual(values, before.get(name), `${name} changed while attacking`);
      assert.ok(model.parameters().every((p) => p.grad === null), 'the attacks left parameter gradients');
    });
  });

  it('MDProp updates every branch and moves each branch only with its own segment', () => {
    tidy(() => {
      const model = smallModel(3);
      distinctBranches(model);
      const optimizer = new Adam(model.parameters(), { lr: 1e-2 });
      const method = presetMethod('mdprop');
      const { images, labels } = batch();
      const draws = fixedDraws();
      // The segments the joint forward sees (the attacks change nothing, as the test above shows).
      const segments = [images, ...buildPieces(model, method, images, labels, draws).slice(1).map((p) => p.images)];
      const conv1 = new Map(model.namedModules()).get('conv1') as Conv2d;
      const stem = multiBatchNorms(model)[0]!; // bn1, right after conv1 (modules come in definition order)
      // Each branch of the stem BN should fold exactly its own segment's conv1 statistics in, once.
      const expected = segments.map((seg, k) => {
        const { mean, variance } = channelStats(noGrad(() => conv1.forward(seg)));
        const bn = stem.branch(k);
        const blend = (old: number[], batch: number[]) => old.map((v, c) => 0.9 * v + 0.1 * batch[c]!);
        return { mean: blend(bn.runningMean!.toNumbers(), mean), variance: blend(bn.runningVar!.toNumbers(), variance) };
      });
      const bns = multiBatchNorms(model);
      const counters = bns.map((m) => [0, 1, 2].map((k) => m.branch(k).numBatchesTracked!.item()));
      const weights = [0, 1, 2].map((k) => stem.branch(k).weight!.toNumbers());
      const result = methodStep({ model, method, criterion, optimizer }, images, labels, draws);
      assert.ok(Number.isFinite(result.loss));
      assert.deepEqual(result.samplesPerBranch, [8, 4, 4]);
      for (let k = 0; k < 3; k++) {
        const bn = stem.branch(k);
        assertNear(bn.runningMean!.toNumbers(), expected[k]!.mean, `branch ${k} running mean`);
        assertNear(bn.runningVar!.toNumbers(), expected[k]!.variance, `branch ${k} running variance`);
        assert.notDeepEqual(bn.weight!.toNumbers(), weights[k], `branch ${k} scale was not trained`);
      }
      // One training forward per branch: attacks in train mode would have counted more.
      bns.forEach((m, i) => [0, 1, 2].forEach((k) => assert.equal(m.branch(k).numBatchesTracked!.item(), counters[i]![k]! + 1, `BN ${i} branch ${k} batches`)));
      assert.ok(multiBatchNorms(model).every((m) => m.routing.kind === 'branch' && m.routing.branch === 0), 'routing back to branch 0');
      optimizer.dispose();
    });
  });

  it('AdvProp-D leaves the unused branches of a 3-branch model alone', () => {
    tidy(() => {
      const model = smallModel(3);
      const method: MethodSpec = { ...presetMethod('advprop-d'), branches: 3 };
      const optimizer = new SGD(model.parameters(), { lr: 0.1 });
      const bn = multiBatchNorms(model)[0]!;
      const aux2 = bn.branch(2).runningMean!.toNumbers();
      const aux1 = bn.branch(1).runningMean!.toNumbers();
      const { images, labels } = batch();
      const result = methodStep({ model, method, criterion, optimizer }, images, labels);
      assert.deepEqual(result.samplesPerBranch, [8, 8, 0]);
      assert.deepEqual(bn.branch(2).runningMean!.toNumbers(), aux2);
      assert.notDeepEqual(bn.branch(1).runningMean!.toNumbers(), aux1);
    });
  });

  it('baseline runs on a plain model; a method needing branches refuses one without them', () => {
    tidy(() => {
      const model = smallModel(1);
      const optimizer = new SGD(model.parameters(), { lr: 0.1 });
      const { images, labels } = batch();
      assert.deepEqual(methodStep({ model, method: presetMethod('baseline'), criterion, optimizer }, images, labels).samplesPerBranch, [8]);
      assert.throws(() => methodStep({ model, method: presetMethod('mdprop'), criterion, optimizer }, images, labels), /needs 3 BN branches/);
    });
  });

  it('a non-finite loss stops before the optimizer step', () => {
    tidy(() => {
      const model = smallModel(2);
      const optimizer = new SGD(model.parameters(), { lr: 0.1 });
      const w = model.head.parameters()[0]!.toNumbers();
      const nanCriterion = { compute: (e: Tensor) => e.sum().mul(Number.NaN) };
      const { images, labels } = batch();
      assert.throws(() => methodStep({ model, method: presetMethod('advprop-d'), criterion: nanCriterion, optimizer }, images, labels), NonFiniteLossError);
      assert.deepEqual(model.head.parameters()[0]!.toNumbers(), w);
    });
  });

  it('parameter groups split backbone, main BN, aux BN and head', () => {
    const model = smallModel(3);
    const groups = modelParameterGroups(model, { backbone: 1e-5, auxBn: 1e-3, head: 1e-4 });
    const byName = new Map(groups.map((g) => [g.name, g]));
    assert.deepEqual([...byName.keys()], ['backbone', 'main_bn', 'aux_bn', 'head']);
    assert.equal(byName.get('aux_bn')!.lr, 1e-3);
    assert.equal(byName.get('main_bn')!.lr, 1e-5);
    assert.equal(byName.get('head')!.params.length, 2);
    assert.equal(byName.get('aux_bn')!.params.length, byName.get('main_bn')!.params.length * 2);
    assert.equal(groups.reduce((a, g) => a + g.params.length, 0), model.parameters().length);
  });
});
