// Multi-branch batch norm: routing, per-branch statistics, copies, names.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BatchNorm2d,
  MultiBatchNorm2d,
  bnBranchCount,
  convertToMultiBatchNorm,
  createModel,
  multiBatchNorms,
  setBnRouting,
  syncAuxBranches,
} from '../../src/nn/index.js';
import * as T from '../../src/torch/index.js';
import { tidy } from '../../src/torch/index.js';
import { assertClose } from '../helpers/gradcheck.js';

function bnWith(seed: number): BatchNorm2d {
  T.manualSeed(seed);
  const bn = new BatchNorm2d(3);
  T.noGrad(() => {
    bn.weight!.copy_(T.rand([3]).add(0.5));
    bn.bias!.copy_(T.randn([3]));
  });
  return bn;
}

const stats = (bn: BatchNorm2d) => [...bn.runningMean!.toNumbers(), ...bn.runningVar!.toNumbers()];

describe('MultiBatchNorm2d', () => {
  it('starts every auxiliary branch as a copy of the main one', () => {
    const mbn = new MultiBatchNorm2d(bnWith(1), 3);
    for (const k of [1, 2]) {
      assert.deepEqual(mbn.branch(k).weight!.toNumbers(), mbn.branch(0).weight!.toNumbers());
      assert.deepEqual(mbn.branch(k).bias!.toNumbers(), mbn.branch(0).bias!.toNumbers());
    }
    assert.notEqual(mbn.branch(1).weight, mbn.branch(0).weight, 'branches own separate tensors');
  });

  it('keeps the main branch under the original names and adds aux.<k-1>', () => {
    const mbn = new MultiBatchNorm2d(new BatchNorm2d(3), 3);
    const names = [...mbn.stateDict().keys()];
    assert.deepEqual(names.slice(0, 5), ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
    assert.ok(names.includes('aux.0.weight') && names.includes('aux.1.running_var'));
  });

  it('routes each segment through its own branch with its own batch statistics', () => {
    tidy(() => {
      const mbn = new MultiBatchNorm2d(bnWith(2), 3);
      T.noGrad(() => mbn.branch(2).weight!.mul_(3)); // make branch 2 distinguishable
      const reference = [0, 1, 2].map((k) => {
        const bn = new BatchNorm2d(3);
        tidy(() => bn.loadStateDict(mbn.branch(k).stateDict()));
        return bn;
      });
      mbn.train();
      T.manualSeed(5);
      const x = T.randn([6, 3, 2, 2]);
      mbn.routing = { kind: 'segments', segments: [{ size: 3, branch: 0 }, { size: 2, branch: 2 }, { size: 1, branch: 1 }] };
      const y = mbn.forward(x);
      assert.deepEqual(y.shape, [6, 3, 2, 2]);
      assertClose(y.narrow(0, 0, 3).toNumbers(), reference[0]!.forward(x.narrow(0, 0, 3)).toNumbers(), 1e-5, 'segment 0');
      assertClose(y.narrow(0, 3, 2).toNumbers(), reference[2]!.forward(x.narrow(0, 3, 2)).toNumbers(), 1e-5, 'segment 1');
      assertClose(stats(mbn.branch(2)), stats(reference[2]!), 1e-6, 'branch 2 running stats');
    });
  });

  it('moves only the running statistics of the branches that saw data', () => {
    tidy(() => {
      const mbn = new MultiBatchNorm2d(new BatchNorm2d(3), 3);
      mbn.train();
      const before = [0, 1, 2].map((k) => stats(mbn.branch(k)));
      mbn.routing = { kind: 'segments', segments: [{ size: 4, branch: 0 }, { size: 2, branch: 2 }] };
      mbn.forward(T.randn([6, 3, 2, 2]).add(3));
      assert.notDeepEqual(stats(mbn.branch(0)), before[0]);
      assert.deepEqual(stats(mbn.branch(1)), before[1]);
      assert.notDeepEqual(stats(mbn.branch(2)), before[2]);
      mbn.routing = { kind: 'branch', branch: 1 };
      mbn.eval();
      const x = T.randn([2, 3, 2, 2]);
      assertClose(mbn.forward(x).toNumbers(), mbn.branch(1).forward(x).toNumbers(), 0, 'eval, branch 1');
    });
  });

  it('rejects bad routing with clear errors', () => {
    const mbn = new MultiBatchNorm2d(new BatchNorm2d(3), 2);
    assert.throws(() => (mbn.routing = { kind: 'branch', branch: 2 }), /branch 2 does not exist/);
    assert.throws(() => (mbn.routing = { kind: 'segments', segments: [{ size: 0, branch: 0 }] }), /positive integer/);
    mbn.routing = { kind: 'segments', segments: [{ size: 2, branch: 0 }] };
    assert.throws(() => mbn.forward(T.randn([3, 3, 2, 2])), /cover 2 samples but the input has 3/);
  });

  it('converts a whole model, keeps its torchvision names, and syncs aux after loading weights', () => {
    tidy(() => {
      const plain = createModel({ arch: 'resnet18', embedDim: 16 });
      const plainKeys = [...plain.stateDict().keys()];
      const model = convertToMultiBatchNorm(createModel({ arch: 'resnet18', embedDim: 16 }), 3);
      assert.equal(bnBranchCount(model), 3);
      assert.equal(multiBatchNorms(model).length, 20);
      const keys = new Set(model.stateDict().keys());
      for (const k of plainKeys) assert.ok(keys.has(k), `missing ${k}`);
      assert.ok(keys.has('layer1.0.bn1.aux.1.weight'));
      // Pretrained weights load into branch 0 (non-strict: aux keys absent), then aux copies them.
      T.noGrad(() => plain.stateDict().get('bn1.weight')!.fill_(0.25));
      model.loadStateDict(plain.stateDict(), { strict: false });
      syncAuxBranches(model);
      const bn1 = multiBatchNorms(model)[0]!;
      assert.deepEqual(bn1.branch(2).weight!.toNumbers()[0], 0.25);
      setBnRouting(model, { kind: 'branch', branch: 2 });
      assert.ok(multiBatchNorms(model).every((m) => m.routing.kind === 'branch' && m.routing.branch === 2));
    });
  });
});
