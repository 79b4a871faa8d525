// Each file-based layout: splits, counts, labels, class names, paths, and errors naming paths.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DataError, openDataset, type Dataset, type DataSplit } from '../../src/data/index.js';
import { makeCarsFolders, makeCarsOfficial, makeCub, makeFolder, makeInshop, makeSop, tempDir } from './fixtures.js';

const all = (split: DataSplit | undefined) => {
  assert.ok(split);
  return Array.from({ length: split.size }, (_, i) => ({ path: split.describe(i), label: split.labels[i], cls: split.classNames[split.labels[i] as number] }));
};

async function rejectsNaming(promise: Promise<unknown>, pathText: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof DataError, `expected a DataError, got ${String(err)}`);
    assert.equal(err.path, pathText);
    assert.match(err.message, message);
    return true;
  });
}

describe('cub200', () => {
  const tmp = tempDir('cub');
  before(() => makeCub(tmp.dir));
  after(tmp.cleanup);

  test('classes 1-100 train, 101-200 test; root may be CUB_200_2011 or its parent', async () => {
    for (const root of [tmp.dir, path.join(tmp.dir, 'CUB_200_2011')]) {
      const ds = await openDataset('cub200', { root });
      const prefix = root === tmp.dir ? 'CUB_200_2011/' : '';
      assert.deepEqual([...ds.splits.keys()], ['train', 'test']);
      assert.equal(ds.train.size, 5);
      assert.equal(ds.train.numClasses, 2);
      assert.deepEqual(ds.train.classNames, ['001.Black_footed_Albatross', '002.Laysan_Albatross']);
      assert.deepEqual([...ds.train.labels], [0, 0, 0, 1, 1]);
      const test = ds.splits.get('test');
      assert.equal(test?.size, 4);
      assert.deepEqual(test?.classNames, ['101.White_Pelican', '102.Western_Wood_Pewee']);
      assert.equal(all(test)[0]?.path, `${prefix}images/101.White_Pelican/White_Pelican_0000_6.jpg`);
      assert.equal(ds.evaluation.query, test);
      assert.equal(ds.evaluation.sameSet, true);
      const source = ds.train.image(0);
      assert.equal(source.kind, 'file');
      assert.equal(source.kind === 'file' && source.path, path.join(root, ds.train.describe(0)));
    }
  });

  test('a missing root, index file or class folder is an error naming it', async () => {
    await rejectsNaming(openDataset('cub200', { root: path.join(tmp.dir, 'nope') }), path.join(tmp.dir, 'nope'), /missing root folder/);
    const broken = tempDir('cub-broken');
    try {
      await makeCub(broken.dir);
      await fs.rm(path.join(broken.dir, 'CUB_200_2011', 'image_class_labels.txt'));
      await rejectsNaming(openDataset('cub200', { root: broken.dir }), 'CUB_200_2011/image_class_labels.txt', /missing index file CUB_200_2011\/image_class_labels.txt/);
      await makeCub(broken.dir);
      await fs.rm(path.join(broken.dir, 'CUB_200_2011', 'images', '102.Western_Wood_Pewee'), { recursive: true });
      await rejectsNaming(openDataset('cub200', { root: broken.dir }), 'CUB_200_2011/images/102.Western_Wood_Pewee', /missing class folder/);
      await makeCub(broken.dir);
      await fs.appendFile(path.join(broken.dir, 'CUB_200_2011', 'images.txt'), '99\n');
      await rejectsNaming(openDataset('cub200', { root: broken.dir }), 'CUB_200_2011/images.txt', /images.txt line 10: expected 2 fields/);
    } finally {
      broken.cleanup();
    }
  });
});

describe('cars196', () => {
  const official = tempDir('cars');
  const folders = tempDir('cars-folders');
  let names: string[] = [];
  before(async () => {
    await makeCarsOfficial(official.dir);
    names = await makeCarsFolders(folders.dir);
  });
  after(() => {
    official.cleanup();
    folders.cleanup();
  });

  test('official layout: cars_annos.mat + car_ims, classes 1-98 train, 99-196 test', async () => {
    const ds = await openDataset('cars196', { root: official.dir });
    assert.equal(ds.train.size, 5);
    assert.deepEqual(ds.train.classNames, ['AM General Hummer SUV 2000', 'Car Model 98']);
    assert.deepEqual(all(ds.train).map((x) => [x.path, x.label]), [
      ['car_ims/000001.jpg', 0], ['car_ims/000002.jpg', 0], ['car_ims/000003.jpg', 1], ['car_ims/000004.jpg', 1], ['car_ims/000005.jpg', 1],
    ]);
    const test = ds.splits.get('test');
    assert.equal(test?.size, 4);
    assert.deepEqual(test?.classNames, ['Car Model 99', 'Car Model 196']);
  });

  test('folder-per-class layout: class ids follow code-point order of the folder names', async () => {
    const ds = await openDataset('cars196', { root: folders.dir });
    assert.equal(ds.train.numClasses, 98);
    assert.equal(ds.train.size, 99);
    assert.equal(ds.train.classNames[0], 'AM General Hummer SUV 2000');
    assert.equal(ds.train.classNames[1], 'Acura RL Sedan 2012');
    assert.equal(ds.train.describe(0), 'images/AM General Hummer SUV 2000/00001.png');
    const test = ds.splits.get('test');
    assert.equal(test?.numClasses, 98);
    assert.equal(test?.size, 99);
    assert.deepEqual(test?.classNames, names.slice(98));
  });

  test('errors: neither layout, unreadable .mat, a class folder the .mat names', async () => {
    const empty = tempDir('cars-empty');
    try {
      await rejectsNaming(openDataset('cars196', { root: empty.dir }), 'cars_annos.mat', /missing index file cars_annos.mat/);
      await fs.writeFile(path.join(empty.dir, 'cars_annos.mat'), 'MATLAB 5.0 MAT-file, but not really');
      await rejectsNaming(openDataset('cars196', { root: empty.dir }), 'cars_annos.mat', /cannot read cars_annos.mat/);
      await makeCarsOfficial(empty.dir);
      await fs.rm(path.join(empty.dir, 'car_ims'), { recursive: true });
      await rejectsNaming(openDataset('cars196', { root: empty.dir }), 'car_ims', /missing class folder car_ims/);
    } finally {
      empty.cleanup();
    }
  });
});

describe('sop', () => {
  const tmp = tempDir('sop');
  before(() => makeSop(tmp.dir));
  after(tmp.cleanup);

  test('Ebay_train.txt and Ebay_test.txt give the splits', async () => {
    const ds = await openDataset('sop', { root: tmp.dir });
    assert.equal(ds.train.size, 5);
    assert.equal(ds.train.numClasses, 3);
    assert.deepEqual([...ds.train.labels], [0, 0, 1, 2, 2]);
    assert.equal(ds.train.describe(0), 'Stanford_Online_Products/bicycle_final/111085122871_0.JPG');
    const test = ds.splits.get('test');
    assert.equal(test?.size, 3);
    assert.equal(test?.numClasses, 2);
    const direct = await openDataset('sop', { root: path.join(tmp.dir, 'Stanford_Online_Products') });
    assert.equal(direct.train.describe(0), 'bicycle_final/111085122871_0.JPG');
  });

  test('a missing Ebay_test.txt or super-class folder is named', async () => {
    const broken = tempDir('sop-broken');
    try {
      await makeSop(broken.dir);
      const base = path.join(broken.dir, 'Stanford_Online_Products');
      await fs.rm(path.join(base, 'chair_final'), { recursive: true });
      await rejectsNaming(openDataset('sop', { root: base }), 'chair_final', /missing class folder chair_final/);
      await fs.rm(path.join(base, 'Ebay_test.txt'));
      await rejectsNaming(openDataset('sop', { root: base }), 'Ebay_test.txt', /missing index file Ebay_test.txt/);
    } finally {
      broken.cleanup();
    }
  });
});

describe('inshop', () => {
  const tmp = tempDir('inshop');
  before(() => makeInshop(tmp.dir));
  after(tmp.cleanup);

  test('train, query and gallery; query and gallery share labels', async () => {
    const ds: Dataset = await openDataset('inshop', { root: tmp.dir });
    assert.deepEqual([...ds.splits.keys()], ['train', 'query', 'gallery']);
    assert.equal(ds.train.size, 3);
    assert.deepEqual(ds.train.classNames, ['id_00000002', 'id_00000007']);
    const { query, gallery, sameSet } = ds.evaluation;
    assert.equal(sameSet, false);
    assert.equal(query.size, 2);
    assert.equal(gallery.size, 3);
    assert.deepEqual(query.classNames, ['id_00000003', 'id_00000008']);
    assert.equal(query.classNames, gallery.classNames);
    assert.deepEqual(all(query).map((x) => x.cls), ['id_00000008', 'id_00000003']);
    assert.deepEqual(all(gallery).map((x) => x.cls), ['id_00000008', 'id_00000008', 'id_00000003']);
    assert.equal(query.describe(0), 'img/WOMEN/Skirts/id_00000008/02_1_front.jpg');
  });

  test('a count that does not match, or a missing item folder, is named', async () => {
    const broken = tempDir('inshop-broken');
    try {
      await makeInshop(broken.dir);
      await fs.rm(path.join(broken.dir, 'img', 'MEN', 'Denim'), { recursive: true });
      await rejectsNaming(openDataset('inshop', { root: broken.dir }), 'img/MEN/Denim/id_00000007', /missing class folder/);
      await fs.appendFile(path.join(broken.dir, 'list_eval_partition.txt'), 'img/extra.jpg id_9 train\n');
      await rejectsNaming(openDataset('inshop', { root: broken.dir }), 'list_eval_partition.txt', /declares 8 images but lists 9/);
    } finally {
      broken.cleanup();
    }
  });
});

describe('folder', () => {
  const byClass = tempDir('folder');
  const byList = tempDir('folder-lists');
  before(async () => {
    await makeFolder(byClass.dir);
    await makeFolder(byList.dir, { lists: true });
  });
  after(() => {
    byClass.cleanup();
    byList.cleanup();
  });

  test('class split: first half of the classes train (empty folders ignored)', async () => {
    const ds = await openDataset('folder', { root: byClass.dir });
    assert.deepEqual(ds.train.classNames, ['a', 'b']);
    assert.deepEqual(ds.splits.get('test')?.classNames, ['c', 'd']);
    assert.equal(ds.train.describe(3), 'b/b2.png');
    const three = await openDataset('folder', { root: byClass.dir, folder: { trainClasses: 3 } });
    assert.equal(three.train.numClasses, 3);
    await assert.rejects(openDataset('folder', { root: byClass.dir, folder: { trainClasses: 4 } }), /trainClasses/);
  });

  test('file-list split: train.txt and test.txt, class = folder', async () => {
    const ds = await openDataset('folder', { root: byList.dir });
    assert.deepEqual(all(ds.train).map((x) => [x.path, x.label]), [['a/a1.png', 0], ['a/a2.png', 0], ['c/c1.png', 1], ['c/c2.png', 1]]);
    assert.deepEqual(ds.splits.get('test')?.classNames, ['b', 'd']);
    const forced = await openDataset('folder', { root: byList.dir, folder: { split: 'classes' } });
    assert.deepEqual(forced.train.classNames, ['a', 'b']);
  });

  test('file-list errors: a missing list, a class folder the list names', async () => {
    const broken = tempDir('folder-broken');
    try {
      await makeFolder(broken.dir, { lists: true });
      await fs.appendFile(path.join(broken.dir, 'test.txt'), 'zebra/z1.png\n');
      await rejectsNaming(openDataset('folder', { root: broken.dir }), 'zebra', /missing class folder zebra/);
      await fs.rm(path.join(broken.dir, 'test.txt'));
      await rejectsNaming(openDataset('folder', { root: broken.dir }), 'test.txt', /missing index file test.txt/);
    } finally {
      broken.cleanup();
    }
  });
});

test('limit keeps a class-balanced subset of each split', async () => {
  const tmp = tempDir('limit');
  try {
    await makeCub(tmp.dir);
    const ds = await openDataset('cub200', { root: tmp.dir, limit: 3 });
    // Round-robin over classes: first image of class 1, first of class 2, second of class 1.
    assert.deepEqual([...ds.train.labels], [0, 0, 1]);
    assert.equal(ds.train.describe(2), 'CUB_200_2011/images/002.Laysan_Albatross/Laysan_Albatross_0000_4.jpg');
    assert.equal(ds.evaluation.query.size, 3);
    assert.equal(ds.evaluation.query.numClasses, 2);
  } finally {
    tmp.cleanup();
  }
});
