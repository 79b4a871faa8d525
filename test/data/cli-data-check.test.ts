// `mdprop data check` on fixtures of every layout: JSON output, listed corrupt files and exit
// codes. The layouts and the errors found before any image is read (bad flags, a missing root or
// index file) run in this process; the text report and the embedded dataset with its progress
// output run the compiled CLI in a child process, as a user does.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { runMdprop, spawnMdprop } from '../helpers/cli.js';
import { makeCarsFolders, makeCarsOfficial, makeCub, makeFolder, makeInshop, makeSop, tempDir } from './fixtures.js';

async function checkJson(dataset: string, root: string | undefined) {
  const run = await runMdprop(['data', 'check', '--dataset', dataset, ...(root ? ['--root', root] : []), '--json']);
  return { ...run, report: JSON.parse(run.stdout) as { dataset: string; splits: Record<string, { classes: number; images: number }>; unreadable: string[] } };
}

const tmp = tempDir('cli');
after(tmp.cleanup);

async function fixture(name: string, make: (root: string) => Promise<unknown>): Promise<string> {
  const root = path.join(tmp.dir, name);
  await fs.mkdir(root, { recursive: true });
  await make(root);
  return root;
}

describe('data check --json on every layout', () => {
  test('cub200: counts; a corrupt image is listed relative to the root, exit 1', async () => {
    const clean = await checkJson('cub200', await fixture('cub', (r) => makeCub(r)));
    assert.equal(clean.code, 0);
    assert.deepEqual(clean.report, { dataset: 'cub200', splits: { train: { classes: 2, images: 5 }, test: { classes: 2, images: 4 } }, files: [], unreadable: [] });
    const broken = await checkJson('cub200', await fixture('cub-corrupt', (r) => makeCub(r, { corrupt: true })));
    assert.equal(broken.code, 1);
    assert.deepEqual(broken.report.unreadable, ['CUB_200_2011/images/101.White_Pelican/White_Pelican_0001_7.jpg']);
    assert.deepEqual(broken.report.splits.test, { classes: 2, images: 4 });
  });

  test('cars196: official layout and folder-per-class layout', async () => {
    const official = await checkJson('cars196', await fixture('cars', (r) => makeCarsOfficial(r, { corrupt: true })));
    assert.equal(official.code, 1);
    assert.deepEqual(official.report.splits, { train: { classes: 2, images: 5 }, test: { classes: 2, images: 4 } });
    assert.deepEqual(official.report.unreadable, ['car_ims/000008.jpg']);
    const folders = await checkJson('cars196', await fixture('cars-folders', makeCarsFolders));
    assert.equal(folders.code, 0);
    assert.deepEqual(folders.report.splits, { train: { classes: 98, images: 99 }, test: { classes: 98, images: 99 } });
  });

  test('sop', async () => {
    const run = await checkJson('sop', await fixture('sop', (r) => makeSop(r, { corrupt: true })));
    assert.equal(run.code, 1);
    assert.deepEqual(run.report.splits, { train: { classes: 3, images: 5 }, test: { classes: 2, images: 3 } });
    assert.deepEqual(run.report.unreadable, ['Stanford_Online_Products/chair_final/261123456789_0.JPG']);
  });

  test('inshop: train, query and gallery', async () => {
    const run = await checkJson('inshop', await fixture('inshop', (r) => makeInshop(r, { corrupt: true })));
    assert.equal(run.code, 1);
    assert.deepEqual(run.report.splits, { train: { classes: 2, images: 3 }, query: { classes: 2, images: 2 }, gallery: { classes: 2, images: 3 } });
    assert.deepEqual(run.report.unreadable, ['img/WOMEN/Skirts/id_00000008/02_3_back.jpg']);
  });

  test('folder: class split and file-list split; every corrupt file listed', async () => {
    const byClass = await checkJson('folder', await fixture('folder', (r) => makeFolder(r, { corrupt: true })));
    assert.equal(byClass.code, 1);
    assert.deepEqual(byClass.report.splits, { train: { classes: 2, images: 4 }, test: { classes: 2, images: 4 } });
    assert.deepEqual(byClass.report.unreadable, ['d/d2.png']);
    const listRoot = await fixture('folder-lists', (r) => makeFolder(r, { lists: true }));
    await fs.writeFile(path.join(listRoot, 'a', 'a2.png'), 'broken too');
    await fs.rm(path.join(listRoot, 'b', 'b1.png'));
    const byList = await checkJson('folder', listRoot);
    assert.equal(byList.code, 1);
    assert.deepEqual(byList.report.splits, { train: { classes: 2, images: 4 }, test: { classes: 2, images: 3 } });
    assert.deepEqual(byList.report.unreadable, ['a/a2.png', 'b/b1.png']);
  });

  test('fashion-mnist: no root needed; stdout stays pure JSON with the progress bar on', async () => {
    const run = spawnMdprop(['data', 'check', '--dataset', 'fashion-mnist', '--json'], { quiet: false });
    assert.equal(run.code, 0);
    const report = JSON.parse(run.stdout) as { dataset: string; splits: unknown; unreadable: unknown; files: unknown[] };
    assert.deepEqual({ ...report, files: report.files.length }, {
      dataset: 'fashion-mnist',
      splits: { train: { classes: 5, images: 35000 }, test: { classes: 5, images: 35000 } },
      files: 4,
      unreadable: [],
    });
    assert.match(run.stderr, /70000\/70000/);
  });

  test('fashion-mnist-all: the official 60,000 / 10,000 in 10 classes, and the files read with their SHA-256', async () => {
    const { code, report } = await checkJson('fashion-mnist-all', undefined);
    assert.equal(code, 0);
    assert.deepEqual(report.splits, { train: { classes: 10, images: 60000 }, test: { classes: 10, images: 10000 } });
    const files = (report as unknown as { files: { path: string; sha256: string; content_sha256: string }[] }).files;
    assert.deepEqual(files.map((f) => path.basename(f.path)), ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']);
    for (const f of files) {
      const bytes = await fs.readFile(f.path);
      assert.equal(f.sha256, createHash('sha256').update(bytes).digest('hex'), f.path);
      assert.equal(f.content_sha256, createHash('sha256').update(gunzipSync(bytes)).digest('hex'), f.path);
    }
  });
});

describe('data check: text output and bad input', () => {
  test('the text report lists each unreadable image with its reason', async () => {
    const run = spawnMdprop(['data', 'check', '--dataset', 'folder', '--root', await fixture('folder-text', (r) => makeFolder(r, { corrupt: true }))]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /train\s+2 classes\s+4 images/);
    assert.match(run.stdout, /1 unreadable image:\n  d\/d2\.png: /);
  });

  test('an unknown dataset is a usage error listing the valid names (exit 2)', async () => {
    const run = await runMdprop(['data', 'check', '--dataset', 'imagenet']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /unknown dataset "imagenet"; valid: cub200, cars196, sop, inshop, fashion-mnist, fashion-mnist-all, mnist, folder/);
  });

  test('missing flags are usage errors (exit 2)', async () => {
    const noDataset = await runMdprop(['data', 'check']);
    assert.equal(noDataset.code, 2);
    assert.match(noDataset.stderr, /required option '--dataset <name>' not specified/);
    const noRoot = await runMdprop(['data', 'check', '--dataset', 'sop']);
    assert.equal(noRoot.code, 2);
    assert.match(noRoot.stderr, /--root <dir> is required for sop/);
    const embedded = await runMdprop(['data', 'check', '--dataset', 'mnist', '--root', tmp.dir]);
    assert.equal(embedded.code, 2);
    assert.match(embedded.stderr, /mnist is embedded and takes no --root/);
  });

  test('a missing root or index file is an error naming the path (exit 1)', async () => {
    const missing = path.join(tmp.dir, 'does-not-exist');
    const noRoot = await runMdprop(['data', 'check', '--dataset', 'cub200', '--root', missing, '--json']);
    assert.equal(noRoot.code, 1);
    assert.match(noRoot.stderr, new RegExp(`missing root folder ${missing}`));
    const noIndex = await runMdprop(['data', 'check', '--dataset', 'sop', '--root', await fixture('empty', async () => undefined)]);
    assert.equal(noIndex.code, 1);
    assert.match(noIndex.stderr, /missing index file Ebay_train.txt/);
  });
});
