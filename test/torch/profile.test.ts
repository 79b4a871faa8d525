// profileOps: libtorch's operator profiler around a piece of work.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as T from '../../src/torch/index.js';
import { profileOps } from '../../src/torch/index.js';

describe('profileOps', () => {
  it('times each aten op the work calls, largest self time first', () => {
    const a = T.randn([256, 256]);
    const b = T.randn([256, 256]);
    const { result, ops } = profileOps(() => {
      const c = a.matmul(b);
      return c.relu().sum().item();
    });
    assert.equal(typeof result, 'number');
    const names = ops.map((o) => o.name);
    assert.ok(names.includes('aten::mm'), names.join(', '));
    assert.ok(names.includes('aten::relu'), names.join(', '));
    for (const o of ops) {
      assert.ok(o.calls >= 1 && o.selfMs >= 0 && o.selfMs <= o.totalMs + 1e-9, JSON.stringify(o));
    }
    for (let i = 1; i < ops.length; i++) assert.ok(ops[i - 1]!.selfMs >= ops[i]!.selfMs, 'sorted by self time');
    const matmul = ops.find((o) => o.name === 'aten::matmul');
    const mm = ops.find((o) => o.name === 'aten::mm')!;
    if (matmul) assert.ok(matmul.totalMs >= mm.totalMs, 'matmul includes the mm it calls');
  });

  it('stops the profiler when the work throws, so the next profile works', () => {
    assert.throws(() => profileOps(() => T.ones([2, 3]).matmul(T.ones([2, 3]))), /mat1 and mat2/);
    const { ops } = profileOps(() => T.ones([4]).add(1));
    assert.ok(ops.some((o) => o.name === 'aten::add'));
  });
});
