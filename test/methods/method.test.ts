// Methods: presets, validation, distributions, and the joint training step.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attackObjective, permutedTargets } from '../../src/adversarial/pgd.js';
import {
  makeDistribution,
  methodStep,
  modelParameterGroups,
  NonFiniteLossError,
  partRows,
  presetMethod,
  sameClassPartners,
  validateMethod,
  type MethodSpec,
} from '../../src/methods/index.js';
import { convertToMultiBatchNorm, createModel, multiBatchNorms, type EmbeddingModel } from '../../src/nn/index.js';
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

describe('the joint training step', () => {
  it('MDProp updates every branch and moves each branch only with its own segment', () => {
    tidy(() => {
      const model = smallModel(3);
      const optimizer = new Adam(model.parameters(), { lr: 1e-2 });
      const bns = multiBatchNorms(model);
      const snapshot = () => bns.flatMap((m) => [0, 1, 2].map((k) => m.branch(k).weight!.toNumbers().concat(m.branch(k).runningMean!.toNumbers())));
      const before = snapshot();
      const { images, labels } = batch();
      const result = methodStep({ model, method: presetMethod('mdprop'), criterion, optimizer }, images, labels);
      assert.ok(Number.isFinite(result.loss));
      assert.deepEqual(result.samplesPerBranch, [8, 4, 4]);
      const after = snapshot();
      for (let k = 0; k < 3; k++) assert.notDeepEqual(after[k], before[k], `branch ${k} of the first BN changed`);
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
