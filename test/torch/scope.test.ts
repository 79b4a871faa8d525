// Memory scopes and live-tensor accounting.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as T from '../../src/torch/index.js';
import { keep, liveTensors, tidy } from '../../src/torch/index.js';
import { native } from '../../src/native/index.js';

describe('tidy scopes', () => {
  it('frees everything created inside except the result', () => {
    const before = liveTensors();
    const result = tidy(() => {
      const a = T.ones([10]);
      const b = a.mul(2).add(1);
      return b.sum();
    });
    assert.equal(liveTensors(), before + 1);
    assert.equal(result.item(), 30);
    result.dispose();
    assert.equal(liveTensors(), before);
  });

  it('keeps tensors inside returned arrays, objects and maps', () => {
    const before = liveTensors();
    const out = tidy(() => {
      const x = T.ones([2]);
      return { list: [x.add(1), x.add(2)], map: new Map([['k', x.add(3)]]), n: 5 };
    });
    assert.equal(liveTensors(), before + 3);
    assert.deepEqual(out.list[1]!.toNumbers(), [3, 3]);
    T.dispose(out);
    assert.equal(liveTensors(), before);
  });

  it('nested scopes hand results outward', () => {
    const before = liveTensors();
    tidy(() => {
      const inner = tidy(() => T.ones([1]).add(1));
      assert.equal(inner.isDisposed, false);
      return null;
    });
    assert.equal(liveTensors(), before);
  });

  it('keep() takes a tensor out of the scope', () => {
    const before = liveTensors();
    let kept: T.Tensor | null = null;
    tidy(() => {
      kept = keep(T.ones([3]));
      T.ones([3]);
    });
    assert.equal(liveTensors(), before + 1);
    assert.equal(kept!.isDisposed, false);
    kept!.dispose();
    assert.equal(liveTensors(), before);
  });

  it('frees the scope when fn throws', () => {
    const before = liveTensors();
    assert.throws(() =>
      tidy(() => {
        T.ones([4]);
        throw new Error('boom');
      }),
    );
    assert.equal(liveTensors(), before);
  });

  it('refuses async functions', () => {
    assert.throws(() => tidy(async () => 1), /synchronous/);
  });

  it('gradients read inside tidy are freed', () => {
    const w = T.ones([3]).setRequiresGrad();
    const before = liveTensors();
    for (let i = 0; i < 20; i++) {
      tidy(() => {
        w.grad = null;
        w.mul(w).sum().backward();
        assert.deepEqual(w.grad!.toNumbers(), [2, 2, 2]);
      });
    }
    w.grad = null;
    assert.equal(liveTensors(), before);
  });

  it('noGrad switches graph recording off and restores it', () => {
    const w = T.ones([2]).setRequiresGrad();
    const y = T.noGrad(() => w.mul(2));
    assert.equal(y.requiresGrad, false);
    assert.equal(w.mul(2).requiresGrad, true);
    assert.equal(T.isGradEnabled(), true);
    assert.equal(T.noGrad(() => T.enableGrad(() => w.mul(2)).requiresGrad), true);
  });

  it('grad() gives input gradients without touching .grad', () => {
    const x = T.tensor([1, 2, 3]).setRequiresGrad();
    const w = T.tensor([4, 5, 6]).setRequiresGrad();
    const [gx] = T.grad(x.mul(w).sum(), [x]);
    assert.deepEqual(gx!.toNumbers(), [4, 5, 6]);
    assert.equal(w.grad, null);
    assert.equal(x.grad, null);
  });
});

describe('memory reported to V8', () => {
  const externalMb = () => native.reportedMemory() / 2 ** 20;

  it('waits inside scopes, and comes when a tensor leaves the outermost one or is kept', () => {
    const before = externalMb();
    let inside = 0;
    const escaped = T.tidy(() => {
      const scratch = T.zeros([8, 1024, 1024]); // 32 MiB freed by the scope
      inside = externalMb() - before;
      scratch.add(1).dispose();
      return T.tidy(() => T.ones([4, 1024, 1024])); // 16 MiB, handed out to the caller
    });
    assert.ok(inside < 1, `${inside.toFixed(1)} MiB reported while a scope owned the tensor`);
    const after = externalMb() - before;
    assert.ok(after > 15 && after < 17, `${after.toFixed(1)} MiB reported for the 16 MiB that left the scope`);
    escaped.dispose();
    assert.ok(Math.abs(externalMb() - before) < 1, 'disposing takes the report back');

    let kept: T.Tensor | null = null;
    T.tidy(() => {
      kept = keep(T.ones([2, 1024, 1024])); // 8 MiB
    });
    // The kept tensor is out of every scope: reported although made inside one.
    assert.ok(externalMb() - before > 7, 'a kept tensor is reported');
    kept!.dispose();
    assert.ok(Math.abs(externalMb() - before) < 1);
  });

  it('outside any scope, a tensor is reported when made', () => {
    const before = externalMb();
    const t = T.zeros([4, 1024, 1024]);
    assert.ok(externalMb() - before > 15);
    t.dispose();
    assert.ok(Math.abs(externalMb() - before) < 1);
  });
});
