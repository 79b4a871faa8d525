// Fashion-MNIST from its official IDX files: the installed files (Debian's dataset-fashion-mnist)
// give 60,000 / 10,000 images whose pixels and labels are the files' bytes at their offsets; a
// folder of small hand-made files, gzipped or not, is read the same way; damaged or missing files
// are errors naming the file and how to get the real ones.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DataError, FASHION_MNIST_DEFAULT_ROOT, openDataset, parseIdx } from '../../src/data/index.js';
import { tempDir } from './fixtures.js';

const tmp = tempDir('fashion');
after(tmp.cleanup);

const raw = (name: string) => gunzipSync(readFileSync(path.join(FASHION_MNIST_DEFAULT_ROOT, `${name}.gz`)));
const counts = (labels: Int32Array) => [...labels].reduce((c, l) => ((c[l] = (c[l] ?? 0) + 1), c), [] as number[]);

/** An IDX file of unsigned bytes, written by hand: magic 0x00000803 / 0x00000801, then the sizes. */
function idx(shape: number[], values: number[]): Buffer {
  const header = Buffer.alloc(4 + 4 * shape.length);
  header.writeUInt8(8, 2);
  header.writeUInt8(shape.length, 3);
  shape.forEach((n, i) => header.writeUInt32BE(n, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(values)]);
}

test('fashion-mnist-all: the official files, 60,000 train / 10,000 test, 6,000 / 1,000 per class, pixels and labels at their file offsets', async () => {
  const ds = await openDataset('fashion-mnist-all');
  const test = ds.splits.get('test')!;
  assert.equal(ds.root, FASHION_MNIST_DEFAULT_ROOT);
  assert.deepEqual(ds.files?.map((f) => path.basename(f)), ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']);
  assert.equal(ds.train.size, 60000);
  assert.equal(test.size, 10000);
  assert.deepEqual(counts(ds.train.labels), new Array(10).fill(6000));
  assert.deepEqual(counts(test.labels), new Array(10).fill(1000));
  assert.deepEqual(test.classNames, ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
  // Image i of a split is image i of its file: 16 header bytes, then 784 bytes per image; labels after 8.
  const trainImages = raw('train-images-idx3-ubyte');
  const testImages = raw('t10k-images-idx3-ubyte');
  const testLabels = raw('t10k-labels-idx1-ubyte');
  for (const i of [0, 1, 4321, 9999]) {
    const image = test.image(i);
    assert.ok(image.kind === 'pixels');
    assert.deepEqual(Buffer.from(image.data), testImages.subarray(16 + 784 * i, 16 + 784 * (i + 1)));
    assert.equal(test.labels[i], testLabels[8 + i]);
  }
  const last = ds.train.image(59999);
  assert.ok(last.kind === 'pixels');
  assert.deepEqual(Buffer.from(last.data), trainImages.subarray(16 + 784 * 59999));
  // Fashion-MNIST's documented first test label is 9 (ankle boot), its first training label 9 too.
  assert.equal(test.labels[0], 9);
  assert.equal(ds.train.labels[0], 9);
});

test('fashion-mnist: all 70,000 official images, classes 0-4 train and 5-9 test, training file first', async () => {
  const ds = await openDataset('fashion-mnist');
  const test = ds.splits.get('test')!;
  assert.equal(ds.train.size, 35000);
  assert.equal(test.size, 35000);
  assert.deepEqual(ds.train.classNames, ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat']);
  assert.deepEqual(test.classNames, ['Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
  assert.deepEqual(counts(test.labels), new Array(5).fill(7000));
  // The first test image is the training file's first image of class 5-9: image 0 (label 9 -> 4).
  const trainImages = raw('train-images-idx3-ubyte');
  const first = test.image(0);
  assert.ok(first.kind === 'pixels');
  assert.deepEqual(Buffer.from(first.data), trainImages.subarray(16, 16 + 784));
  assert.equal(test.labels[0], 4);
  // The last test image comes from the test file's last image of class 5-9.
  const testImages = raw('t10k-images-idx3-ubyte');
  const testLabels = raw('t10k-labels-idx1-ubyte');
  let lastIndex = 9999;
  while ((testLabels[8 + lastIndex] as number) < 5) lastIndex--;
  const last = test.image(34999);
  assert.ok(last.kind === 'pixels');
  assert.deepEqual(Buffer.from(last.data), testImages.subarray(16 + 784 * lastIndex, 16 + 784 * (lastIndex + 1)));
});

test('a data root of hand-made files, gzipped or not, is read as the official layout', async () => {
  const root = path.join(tmp.dir, 'small');
  await fs.mkdir(root);
  const image = (v: number) => new Array(784).fill(v);
  // Training file: 3 images of classes 0, 7, 3; test file: 2 images of classes 9 and 0 (plain, not gzipped).
  await fs.writeFile(path.join(root, 'train-images-idx3-ubyte.gz'), gzipSync(idx([3, 28, 28], [...image(10), ...image(20), ...image(30)])));
  await fs.writeFile(path.join(root, 'train-labels-idx1-ubyte.gz'), gzipSync(idx([3], [0, 7, 3])));
  await fs.writeFile(path.join(root, 't10k-images-idx3-ubyte'), idx([2, 28, 28], [...image(40), ...image(50)]));
  await fs.writeFile(path.join(root, 't10k-labels-idx1-ubyte'), idx([2], [9, 0]));
  const all = await openDataset('fashion-mnist-all', { root });
  assert.equal(all.train.size, 3);
  assert.deepEqual([...all.train.labels], [0, 7, 3]);
  assert.deepEqual([...all.splits.get('test')!.labels], [9, 0]);
  const second = all.splits.get('test')!.image(1);
  assert.ok(second.kind === 'pixels' && second.data.every((v) => v === 50));
  assert.equal(path.basename(all.files![2]!), 't10k-images-idx3-ubyte');
  // Zero-shot: classes 0-4 (images 10, 30, 50) train; 5-9 (20, 40) test, relabelled 7 -> 2, 9 -> 4.
  const zeroShot = await openDataset('fashion-mnist', { root });
  const firstPixels = (split: typeof zeroShot.train) => Array.from({ length: split.size }, (_, i) => {
    const im = split.image(i);
    return im.kind === 'pixels' ? im.data[0] : -1;
  });
  assert.deepEqual(firstPixels(zeroShot.train), [10, 30, 50]);
  assert.deepEqual([...zeroShot.train.labels], [0, 3, 0]);
  assert.deepEqual(firstPixels(zeroShot.splits.get('test')!), [20, 40]);
  assert.deepEqual([...zeroShot.splits.get('test')!.labels], [2, 4]);
});

test('missing, damaged or mismatched files are errors naming the file (and how to get the real ones)', async () => {
  const empty = path.join(tmp.dir, 'empty');
  await fs.mkdir(empty);
  await assert.rejects(openDataset('fashion-mnist-all', { root: empty }), (err: unknown) => {
    assert.ok(err instanceof DataError);
    assert.match(err.message, /train-images-idx3-ubyte\.gz \(or train-images-idx3-ubyte\) is not in .*empty/);
    assert.match(err.message, /apt-get install dataset-fashion-mnist/);
    assert.match(err.message, /github\.com\/zalandoresearch\/fashion-mnist/);
    return true;
  });
  const bad = path.join(tmp.dir, 'bad');
  await fs.mkdir(bad);
  const write = async (name: string, bytes: Buffer) => fs.writeFile(path.join(bad, name), bytes);
  await write('train-images-idx3-ubyte', idx([2, 28, 28], new Array(2 * 784).fill(1)));
  await write('train-labels-idx1-ubyte', idx([3], [0, 1, 2]));
  await write('t10k-images-idx3-ubyte', idx([1, 28, 28], new Array(784).fill(1)));
  await write('t10k-labels-idx1-ubyte', idx([1], [4]));
  await assert.rejects(openDataset('fashion-mnist-all', { root: bad }), /train-labels-idx1-ubyte: expected 2 labels .*got shape \[3\]/);
  await write('train-labels-idx1-ubyte', idx([2], [0, 12]));
  await assert.rejects(openDataset('fashion-mnist-all', { root: bad }), /train-labels-idx1-ubyte: label 12 of image 1 is not a class 0-9/);
  await write('t10k-images-idx3-ubyte.gz', Buffer.from('not gzip'));
  await write('train-labels-idx1-ubyte', idx([2], [0, 1]));
  await assert.rejects(openDataset('fashion-mnist-all', { root: bad }), /t10k-images-idx3-ubyte\.gz: not a readable gzip file/);
});

test('parseIdx: shapes from the header; a wrong type, size or truncation names the file', () => {
  const parsed = parseIdx(idx([2, 3], [1, 2, 3, 4, 5, 6]), 'm.idx');
  assert.deepEqual(parsed.shape, [2, 3]);
  assert.deepEqual([...parsed.data], [1, 2, 3, 4, 5, 6]);
  const floats = idx([1], [0, 0, 0, 0]);
  floats.writeUInt8(0x0d, 2);
  assert.throws(() => parseIdx(floats, 'f.idx'), /f\.idx: not an IDX file of unsigned bytes \(type code 0xd/);
  assert.throws(() => parseIdx(idx([2, 3], [1, 2, 3]), 's.idx'), /s\.idx: .*shape \[2, 3\] needs 18 bytes, the file has 15/);
  assert.throws(() => parseIdx(Buffer.from([1, 0, 8, 1]), 'z.idx'), /first two bytes must be zero/);
  assert.throws(() => parseIdx(Buffer.from([0, 0, 8, 2, 0, 0]), 'h.idx'), /header cut short/);
});

test('the installed files hold the official labels: same content as Zalando\'s repository files', () => {
  // SHA-256 of the decompressed label files of github.com/zalandoresearch/fashion-mnist (data/fashion).
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
  assert.equal(sha(raw('train-labels-idx1-ubyte')), 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9');
  assert.equal(sha(raw('t10k-labels-idx1-ubyte')), '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34');
});
