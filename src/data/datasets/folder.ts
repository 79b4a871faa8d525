// Any folder-per-class tree: root/<class>/<image>. Two ways to split it:
//   classes: zero-shot, as the DML benchmarks do: the first half of the classes (in code-point
//     order of folder names, rounded up, or `trainClasses` of them) train, the rest test.
//   files: root/train.txt and root/test.txt list image paths relative to the root, one a line;
//     the class of an image is its folder.
// Without an explicit choice the file lists are used when either exists (both are then required).
import path from 'node:path';
import { DataError } from '../errors.js';
import { folderOf, isFile, listFolders, listImages, readIndexLines, requireFolders, requireRoot } from '../files.js';
import { byCodePoint, FileSplit, labelsFor } from '../split.js';
import type { Dataset, SplitName } from '../types.js';
import { splitByClassId, trainTestDataset, type IndexedImage } from './dataset.js';

const NAME = 'folder';
const LISTS = { train: 'train.txt', test: 'test.txt' } as const;

export interface FolderOptions {
  /** How to split; default: 'files' when train.txt and test.txt exist, else 'classes'. */
  readonly split?: 'classes' | 'files';
  /** With the class split: how many classes train (default: half, rounded up). */
  readonly trainClasses?: number;
}

export async function openFolder(rootArg: string | undefined, options: FolderOptions = {}): Promise<Dataset> {
  const root = await requireRoot(NAME, rootArg);
  const [hasTrain, hasTest] = await Promise.all([isFile(path.join(root, LISTS.train)), isFile(path.join(root, LISTS.test))]);
  const mode = options.split ?? (hasTrain || hasTest ? 'files' : 'classes');
  return mode === 'files' ? openByLists(root) : openByClasses(root, options.trainClasses);
}

async function openByClasses(root: string, trainClasses: number | undefined): Promise<Dataset> {
  const images: IndexedImage[] = [];
  const classNames = new Map<number, string>();
  for (const name of await listFolders(root)) {
    const files = await listImages(path.join(root, name));
    if (files.length === 0) continue; // a folder without images is not a class
    const id = classNames.size + 1;
    classNames.set(id, name);
    for (const file of files) images.push({ path: `${name}/${file}`, classId: id });
  }
  const count = classNames.size;
  if (count < 2) throw new DataError(`${NAME}: need at least 2 class folders with images in ${root}, found ${count}`, '');
  const lastTrain = trainClasses ?? Math.ceil(count / 2);
  if (!Number.isInteger(lastTrain) || lastTrain < 1 || lastTrain >= count) {
    throw new RangeError(`folder: trainClasses must be an integer from 1 to ${count - 1}, got ${trainClasses}`);
  }
  return splitByClassId(NAME, root, images, classNames, lastTrain);
}

async function openByLists(root: string): Promise<Dataset> {
  const train = await readList(root, LISTS.train);
  const test = await readList(root, LISTS.test);
  await requireFolders(NAME, root, [...train, ...test].map(folderOf));
  const split = (name: SplitName, paths: string[]) => {
    const keys = paths.map(folderOf);
    const classes = [...new Set(keys)].sort(byCodePoint);
    return new FileSplit(NAME, name, root, paths, labelsFor(keys, classes), classes);
  };
  return trainTestDataset(NAME, root, split('train', train), split('test', test));
}

async function readList(root: string, file: string): Promise<string[]> {
  const lines = await readIndexLines(NAME, root, file);
  return lines
    .filter((line) => !line.startsWith('#'))
    .map((line, i) => {
      const rel = line.replace(/\\/g, '/').replace(/^\.\//, '');
      if (!rel.includes('/') || path.isAbsolute(rel) || rel.split('/').includes('..')) {
        throw new DataError(`${NAME}: ${file} line ${i + 1}: "${line}" is not a path <class>/<image> inside the root`, file);
      }
      return rel;
    });
}
