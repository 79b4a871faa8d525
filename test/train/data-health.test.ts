// Data a run should not meet silently: every unreadable image listed (and dropped with
// --skip-bad-images, so training goes on), classes without a positive pair, one-class test splits.
import assert from 'node:assert/strict';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { imageFolderSplit, openDataset } from '../../src/data/index.js';
import { checkTrainingData } from '../../src/train/data-health.js';
import { writeNoisePng } from '../cli/embed-helpers.js';
import { runMdprop } from '../helpers/cli.js';
import { tempDir } from './helpers.js';

const root = join(tempDir('data-health'), 'data');
const BAD = ['a/bad-0.png', 'a/bad-1\x07.png', 'b/bad-2.png', 'c/bad-3.png'];

before(async () => {
  // Train: a (6 good, 2 bad), b (6 good, 1 bad), solo (1 good); test: c (4 good, 1 bad) only.
  const good: [string, number][] = [['a', 6], ['b', 6], ['c', 4], ['solo', 1]];
  let seed = 0;
  for (const [cls, n] of good) for (let i = 0; i < n; i++) await writeNoisePng(join(root, cls, `${i}.png`), 12, 12, seed++);
  for (const rel of BAD) writeFileSync(join(root, rel), 'not an image');
  writeFileSync(join(root, 'train.txt'), ['a', 'b', 'solo'].flatMap((c) => (c === 'solo' ? ['solo/0.png'] : [0, 1, 2, 3, 4, 5].map((i) => `${c}/${i}.png`))).concat(BAD.slice(0, 3)).join('\n'));
  writeFileSync(join(root, 'test.txt'), [0, 1, 2, 3].map((i) => `c/${i}.png`).concat(BAD[3]!).join('\n'));
});

describe('training data health', () => {
  it('lists every unreadable image, a class without a positive pair and a one-class test split', async () => {
    const dataset = await openDataset('folder', { root });
    const { data, warnings } = await checkTrainingData({ train: dataset.train, evaluation: dataset.evaluation }, { skipBadImages: true });
    const text = warnings.join('\n');
    for (const rel of BAD) assert.ok(text.includes(rel), `${rel} is listed`);
    assert.match(text, /skipping 3 unreadable images of the train split/);
    assert.match(text, /the train split has 1 class with a single image \(no positive pair\): solo/);
    assert.match(text, /the test split holds 1 class: retrieval metrics mean nothing there/);
    assert.deepEqual([data.train.size, data.evaluation.query.size], [13, 4]);
    const kept = await checkTrainingData({ train: dataset.train, evaluation: dataset.evaluation }, { skipBadImages: false });
    assert.equal(kept.data.train.size, 16, 'without skipBadImages nothing is dropped');
  });

  it('trains with --skip-bad-images after listing every unreadable file; without it stops naming one', async () => {
    const flags = ['train', '--dataset', 'folder', '--data-root', root, '--method', 'baseline', '--arch', 'resnet-small', '--embed-dim', '8', '--image-size', '12', '--test-resize', '12',
      '--batch-size', '4', '--epochs', '1', '--threads', '1'];
    const skipped = await runMdprop([...flags, '--skip-bad-images', '--out', join(tempDir('data-health'), 'run')]);
    assert.equal(skipped.code, 0, skipped.stderr);
    // Listed with control characters escaped, so a file name cannot drive the terminal.
    for (const rel of BAD) assert.ok(skipped.stderr.includes(rel.replace('\x07', '\\x07')), `the log lists ${rel}`);
    assert.ok(!skipped.stderr.includes('\x07'), 'no raw control character reaches the terminal');
    const stopped = await runMdprop([...flags, '--out', join(tempDir('data-health'), 'run')]);
    assert.equal(stopped.code, 1);
    assert.match(stopped.stderr, /bad-\d(\\x07)?\.png/);
  });

  it('refuses to resume on changed training images, saying what to do', async () => {
    const run = join(tempDir('data-health'), 'resume');
    const flags = ['--dataset', 'folder', '--data-root', root, '--method', 'baseline', '--arch', 'resnet-small', '--embed-dim', '8', '--image-size', '12', '--test-resize', '12',
      '--batch-size', '4', '--threads', '1', '--skip-bad-images'];
    assert.equal((await runMdprop(['train', ...flags, '--epochs', '1', '--out', run])).code, 0);
    await writeNoisePng(join(root, 'a', '6.png'), 12, 12, 99);
    writeFileSync(join(root, 'train.txt'), `${readFileSync(join(root, 'train.txt'), 'utf8')}\na/6.png`);
    const r = await runMdprop(['train', '--resume', run, '--epochs', '2']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--resume .*: the training images changed since the run started \(13 images then, 14 now\)\. Restore the data as it was/);
  });

  it('follows a symlinked class folder in the folder dataset as embed does, and a link loop only once', async () => {
    const base = tempDir('links');
    const elsewhere = join(base, 'elsewhere');
    const tree = join(base, 'tree');
    for (const [cls, dir] of [['a', join(tree, 'a')], ['b', join(tree, 'b')], ['c', elsewhere]] as const) {
      for (let i = 0; i < 2; i++) await writeNoisePng(join(dir, `${cls}${i}.png`), 12, 12, i);
    }
    symlinkSync(elsewhere, join(tree, 'c'));
    symlinkSync(tree, join(tree, 'b', 'loop'));
    const dataset = await openDataset('folder', { root: tree });
    assert.deepEqual([...dataset.train.classNames, ...dataset.evaluation.query.classNames], ['a', 'b', 'c']);
    const folder = await imageFolderSplit(tree);
    assert.deepEqual(folder.paths, ['a/a0.png', 'a/a1.png', 'b/b0.png', 'b/b1.png', 'c/c0.png', 'c/c1.png']);
  });
});
