// A dataset folder from elsewhere: its index, annotation and IDX files are read with a bound. A
// FIFO in place of an index file is refused at once (not waited on), a file above the bound is
// refused from its size before it is read, and a gzipped IDX file that inflates past its bound
// stops inflating there. Each error is a DataError naming the file.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { DataError, openDataset } from '../../src/data/index.js';
import { MAX_DATA_FILE_BYTES, MAX_INFLATED_BYTES } from '../../src/data/capped-read.js';
import { makeSop, tempDir } from '../data/fixtures.js';

function namesFile(file: string, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof DataError, `expected a DataError, got ${String(err)}`);
    assert.ok(err.message.includes(file), err.message);
    assert.match(err.message, message);
    return true;
  };
}

describe('dataset files from elsewhere', () => {
  const tmp = tempDir('untrusted-dataset');
  before(() => makeSop(tmp.dir));
  after(tmp.cleanup);

  test('a FIFO in place of an index file is refused without waiting for a writer', { timeout: 20_000 }, async () => {
    const list = path.join(tmp.dir, 'Stanford_Online_Products', 'Ebay_test.txt');
    const saved = await fs.readFile(list);
    await fs.rm(list);
    execFileSync('mkfifo', [list]);
    try {
      const started = Date.now();
      await assert.rejects(openDataset('sop', { root: tmp.dir }), namesFile('Ebay_test.txt', /not a regular file/));
      assert.ok(Date.now() - started < 5000, 'answered at once');
    } finally {
      await fs.rm(list);
      await fs.writeFile(list, saved);
    }
  });

  test('an index file above the bound is refused from its size (a sparse file: nothing is allocated)', async () => {
    const list = path.join(tmp.dir, 'Stanford_Online_Products', 'Ebay_train.txt');
    const saved = await fs.readFile(list);
    const handle = await fs.open(list, 'r+');
    await handle.truncate(MAX_DATA_FILE_BYTES + 1);
    await handle.close();
    try {
      const heapBefore = process.memoryUsage().arrayBuffers;
      await assert.rejects(openDataset('sop', { root: tmp.dir }), namesFile('Ebay_train.txt', new RegExp(`${MAX_DATA_FILE_BYTES + 1} bytes is more than the ${MAX_DATA_FILE_BYTES}`)));
      assert.ok(process.memoryUsage().arrayBuffers - heapBefore < MAX_DATA_FILE_BYTES / 4, 'the file was not read');
    } finally {
      await fs.writeFile(list, saved);
    }
    // The dataset opens again once the file is itself.
    assert.equal((await openDataset('sop', { root: tmp.dir })).train.size > 0, true);
  });

  test('a gzipped IDX file that inflates past its bound is refused, naming the file', async () => {
    const root = path.join(tmp.dir, 'fmnist');
    await fs.mkdir(root);
    // 257 MiB of zeros gzip to about 256 KiB: a small file asking for more than the bound.
    const bomb = gzipSync(Buffer.alloc(MAX_INFLATED_BYTES + 2 ** 20), { level: 9 });
    assert.ok(bomb.length < 2 ** 20);
    for (const name of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
      await fs.writeFile(path.join(root, `${name}.gz`), bomb);
    }
    await assert.rejects(openDataset('fashion-mnist-all', { root }), namesFile('-ubyte.gz', new RegExp(`inflates to more than ${MAX_INFLATED_BYTES} bytes`)));
  });
});
