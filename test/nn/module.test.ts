// Module: names, modes, state dicts (and their errors), conversion, layer replacement.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BatchNorm2d,
  Conv2d,
  Linear,
  Module,
  ReLU,
  replaceBatchNorms,
  Sequential,
  StateDictError,
  type LoadReport,
} from '../../src/nn/index.js';
import { manualSeed, randn, tensor, tidy, zeros, type Tensor } from '../../src/torch/index.js';

/** conv -> bn -> relu, then a linear head: the shape of every model in this project, in small. */
class Tiny extends Module {
  constructor() {
    super();
    this.registerModule('features', new Sequential(new Conv2d(2, 3, 3, { padding: 1 }), new BatchNorm2d(3), new ReLU()));
    this.registerModule('fc', new Linear(12, 2));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => this.child<Module>('fc').forward(this.child<Module>('features').forward(x).flatten(1)));
  }
}

describe('Module', () => {
  manualSeed(1);

  it('names parameters and buffers by dotted paths in registration order', () => {
    const m = new Tiny();
    try {
      assert.deepEqual(
        m.namedParameters().map(([n]) => n),
        ['features.0.weight', 'features.0.bias', 'features.1.weight', 'features.1.bias', 'fc.weight', 'fc.bias'],
      );
      assert.deepEqual(
        m.namedBuffers().map(([n]) => n),
        ['features.1.running_mean', 'features.1.running_var', 'features.1.num_batches_tracked'],
      );
      assert.ok(m.parameters().every((p) => p.requiresGrad && p.isLeaf));
      assert.equal(tidy(() => m.stateDict().get('features.1.num_batches_tracked')!.dtype), 'int64');
    } finally {
      m.dispose();
    }
  });

  it('train() and eval() reach every descendant', () => {
    const m = new Tiny();
    try {
      m.eval();
      assert.ok(m.namedModules().every(([, c]) => !c.training));
      m.train();
      assert.ok(m.namedModules().every(([, c]) => c.training));
    } finally {
      m.dispose();
    }
  });

  it('stateDict gives aliases that the caller frees without harming the module', () => {
    const m = new Tiny();
    try {
      tidy(() => {
        m.stateDict();
      });
      assert.equal(m.parameters()[0]!.isDisposed, false);
      // Aliases share storage: a write through one shows in the module.
      tidy(() => {
        m.stateDict().get('fc.bias')!.fill_(7);
      });
      assert.deepEqual(tidy(() => m.child<Linear>('fc').bias!.toNumbers()), [7, 7]);
    } finally {
      m.dispose();
    }
  });

  it('loadStateDict(strict) names every missing key, unexpected key and shape mismatch, and loads nothing', () => {
    const a = new Tiny();
    const b = new Tiny();
    try {
      tidy(() => {
        const state = a.stateDict();
        state.delete('fc.bias');
        state.delete('features.1.running_var');
        state.set('head.weight', zeros([2, 12]));
        state.set('features.0.weight', zeros([3, 2, 5, 5]));
        const before = b.child<Linear>('fc').weight.toNumbers();
        assert.throws(
          () => b.loadStateDict(state),
          (err: unknown) => {
            assert.ok(err instanceof StateDictError);
            const msg = err.message;
            for (const key of ['fc.bias', 'features.1.running_var', 'head.weight', 'features.0.weight']) assert.match(msg, new RegExp(key.replace(/\./g, '\\.')));
            assert.match(msg, /missing keys \(2\)/);
            assert.match(msg, /unexpected keys \(1\)/);
            assert.match(msg, /model \[3, 2, 3, 3\], file \[3, 2, 5, 5\]/);
            assert.deepEqual(err.report.missing, ['features.1.running_var', 'fc.bias']);
            return true;
          },
        );
        assert.deepEqual(b.child<Linear>('fc').weight.toNumbers(), before, 'a failed strict load changes nothing');
      });
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('loadStateDict(non-strict) loads what fits and reports the rest', () => {
    const a = new Tiny();
    const b = new Tiny();
    try {
      tidy(() => {
        const state = a.stateDict();
        state.delete('fc.bias');
        state.set('extra', zeros([1]));
        const report: LoadReport = b.loadStateDict(state, { strict: false });
        assert.deepEqual(report, { missing: ['fc.bias'], unexpected: ['extra'], mismatched: [] });
        assert.deepEqual(b.child<Linear>('fc').weight.toNumbers(), a.child<Linear>('fc').weight.toNumbers());
        assert.notDeepEqual(b.child<Linear>('fc').bias!.toNumbers(), a.child<Linear>('fc').bias!.toNumbers());
      });
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('to(dtype) converts floating tensors only and keeps parameters trainable leaves', () => {
    const m = new Tiny().to('float64');
    try {
      for (const [name, t] of m.namedParameters()) {
        assert.equal(t.dtype, 'float64', name);
        assert.ok(t.requiresGrad && t.isLeaf, name);
      }
      assert.equal(m.namedBuffers().find(([n]) => n.endsWith('num_batches_tracked'))![1].dtype, 'int64');
      tidy(() => assert.deepEqual(m.forward(randn([2, 2, 2, 2], { dtype: 'float64' })).shape, [2, 2]));
    } finally {
      m.dispose();
    }
  });

  it('refuses duplicate and dotted member names', () => {
    class Bad extends Module {
      constructor(name: string, twice: boolean) {
        super();
        this.registerModule(name, new ReLU());
        if (twice) this.registerBuffer(name, tensor([1]));
      }
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    assert.throws(() => new Bad('a.b', false), /bad member name 'a\.b'/);
    assert.throws(() => new Bad('a', true), /'a' is already registered/);
  });
});

/** Stand-in for a multi-branch BN: branch 0 inline (torchvision's names), one auxiliary branch. */
class TwoBranchNorm extends Module {
  constructor(main: BatchNorm2d) {
    super();
    this.registerModule('', main);
    this.registerModule('aux', new BatchNorm2d(main.numFeatures));
  }
  forward(x: Tensor): Tensor {
    return this.child<Module>('').forward(x);
  }
}

describe('replaceBatchNorms', () => {
  it('swaps every BatchNorm2d in place; an inline branch 0 keeps the original keys', () => {
    const m = new Tiny();
    try {
      const before = tidy(() => [...m.stateDict().keys()]);
      const replaced = replaceBatchNorms(m, (bn) => new TwoBranchNorm(bn));
      assert.deepEqual(replaced, ['features.1']);
      const after = tidy(() => [...m.stateDict().keys()]);
      assert.deepEqual(
        after.filter((k) => !k.includes('.aux.')),
        before,
      );
      assert.ok(after.includes('features.1.aux.running_var'));
      assert.ok(m.child<Sequential>('features').at(1) instanceof TwoBranchNorm);
      tidy(() => assert.deepEqual(m.forward(randn([2, 2, 2, 2])).shape, [2, 2]));
    } finally {
      m.dispose();
    }
  });
});
