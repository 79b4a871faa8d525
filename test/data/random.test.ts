import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Random } from '../../src/data/random.js';

const draw = (r: Random, n = 8) => Array.from({ length: n }, () => r.nextUint32());

test('the same seed and keys give the same stream; different ones differ', () => {
  assert.deepEqual(draw(new Random(42)), draw(new Random(42)));
  assert.deepEqual(draw(new Random(42, 'augment', 3, 1)), draw(new Random(42, 'augment', 3, 1)));
  assert.notDeepEqual(draw(new Random(42)), draw(new Random(43)));
  assert.notDeepEqual(draw(new Random(42, 'a')), draw(new Random(42, 'b')));
  assert.notDeepEqual(draw(new Random(42, 1, 2)), draw(new Random(42, 2, 1)));
  assert.notDeepEqual(draw(new Random(2 ** 40)), draw(new Random(2 ** 40 + 2 ** 32)));
});

test('state round-trips through JSON and continues the same stream', () => {
  const r = new Random(7);
  draw(r, 5);
  const saved = JSON.parse(JSON.stringify(r.state()));
  const expected = draw(r);
  assert.deepEqual(draw(Random.fromState(saved)), expected);
  assert.throws(() => Random.fromState([0, 0, 0, 0]), /all words are zero/);
  assert.throws(() => Random.fromState([1, 2, 3] as unknown as [number, number, number, number]), /invalid random state/);
});

test('floats are in [0, 1) and ints in range and roughly uniform', () => {
  const r = new Random(1);
  const counts = new Array(6).fill(0);
  for (let i = 0; i < 60000; i++) {
    const x = r.next();
    assert.ok(x >= 0 && x < 1);
    counts[r.int(6)]++;
  }
  for (const c of counts) assert.ok(Math.abs(c - 10000) < 500, `count ${c}`);
  const u = r.uniform(-2, -1);
  assert.ok(u >= -2 && u < -1);
  assert.throws(() => r.int(0), RangeError);
});

test('permutation and shuffle keep every element', () => {
  const p = new Random(3).permutation(100);
  assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
  assert.notDeepEqual([...p], Array.from({ length: 100 }, (_, i) => i));
  const items = ['a', 'b', 'c', 'd', 'e'];
  assert.deepEqual(new Random(3).shuffle([...items]).sort(), items);
});
