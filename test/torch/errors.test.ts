// Bad arguments become JS Errors that name the op and the shapes; the process never crashes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import * as T from '../../src/torch/index.js';
import { F, op, run, tensor } from '../../src/torch/index.js';

describe('errors', () => {
  it('shape mismatch names the op and the shapes', () => {
    assert.throws(() => tensor([1, 2, 3, 4, 5, 6], [2, 3]).mm(T.ones([2, 3])), /aten::mm\(self \[2, 3\] float, mat2 \[2, 3\] float\)/);
    assert.throws(() => T.ones([2, 3]).add(T.ones([4])), /aten::add.*\[2, 3\].*\[4\]/);
    assert.throws(() => F.conv2d(T.ones([1, 2, 4, 4]), T.ones([3, 5, 3, 3])), /aten::conv2d.*\[1, 2, 4, 4\]/);
  });

  it('bad dtype and out-of-range index are Errors', () => {
    assert.throws(() => T.ones([2]).indexSelect(0, tensor([5], [1], { dtype: 'int64' })), /index_select.*out of range/);
    assert.throws(() => T.ones([2]).indexSelect(0, tensor([0.5])), /index_select/);
    assert.throws(() => T.ones([2]).select(0, 7), /select/);
    assert.throws(() => T.ones([2]).size(3), /no such dim/);
    assert.throws(() => tensor([1, 2], [3]), /do not fill shape/);
    assert.throws(() => T.zeros([-1]), /non-negative integers/);
    assert.throws(() => T.zeros([2], { dtype: 'complex' as never }), /unknown dtype/);
  });

  it('wrong argument types name the argument', () => {
    const view = op('view');
    assert.throws(() => run(view, T.ones([4]), 'x'), /aten::view: argument 'size' must be an array/);
    assert.throws(() => run(view, T.ones([4]), [1.5]), /argument 'size' must be an integer/);
    assert.throws(() => run(op('mm'), T.ones([2, 2])), /missing argument 'mat2'/);
    assert.throws(() => run(op('mm'), T.ones([2, 2]), 3), /expected a tensor/);
    assert.throws(() => op('no_such_op').id, /unknown operator aten::no_such_op/);
  });

  it('use after dispose is an Error', () => {
    const t = T.ones([2]);
    t.dispose();
    assert.throws(() => t.add(1), /used after dispose/);
    t.dispose(); // twice is harmless
  });

  it('backward on a non-scalar without a gradient is an Error', () => {
    const t = T.ones([2]).setRequiresGrad();
    assert.throws(() => t.mul(2).backward(), /backward/);
    assert.throws(() => T.ones([2]).sum().backward(), /does not require grad/);
  });

  it('the process survives a burst of bad calls', () => {
    // Run in a child so that a crash would show as a signal rather than take the test runner down.
    const script = `
      import * as T from ${JSON.stringify(new URL('../../src/torch/index.js', import.meta.url).href)};
      let errors = 0;
      const bad = [
        () => T.ones([2, 3]).mm(T.ones([4, 5])),
        () => T.ones([3]).view([2, 2]),
        () => T.ones([2]).gather(0, T.tensor([9], [1], { dtype: 'int64' })),
        () => T.ones([2]).narrow(0, 1, 5),
        () => T.cat([T.ones([2, 2]), T.ones([3, 3])], 0),
        () => T.F.batchNorm(T.ones([2, 3]), T.zeros([4]), T.ones([4]), null, null, { training: false }),
        () => T.ones([2]).index([T.tensor([1, 0, 1], [3], { dtype: 'bool' })]),
        () => T.ones([0]).max(),
      ];
      for (let i = 0; i < 50; i++) for (const f of bad) { try { f(); } catch { errors++; } }
      console.log(errors);
    `;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(result.signal, null, `child crashed: ${result.stderr}`);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(Number(result.stdout.trim()), 400);
  });
});
