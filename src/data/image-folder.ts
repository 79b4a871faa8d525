// A folder of images to embed, searched recursively: every image file below it, in code-point
// order of its path relative to the folder (what Python's sorted() gives). Symbolic links are
// followed, each real folder is entered once, so a link loop cannot repeat images.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DataError } from './errors.js';
import { isImageFile } from './files.js';
import { byCodePoint, FileSplit, labelsFor } from './split.js';
import type { DataSplit } from './types.js';

/** Relative paths ('/'-separated) of the images below `root`, sorted by code point. */
export async function findImageFiles(root: string): Promise<string[]> {
  const found: string[] = [];
  const entered = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    const real = await fs.realpath(dir);
    if (entered.has(real)) return;
    entered.add(real);
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      const stat = entry.isSymbolicLink() ? await fs.stat(full).catch(() => null) : entry;
      if (stat?.isDirectory()) await walk(full);
      else if (stat?.isFile() && isImageFile(entry.name)) found.push(path.relative(root, full).split(path.sep).join('/'));
    }
  };
  await walk(root);
  return found.sort(byCodePoint);
}

/** The images below `root` as a split; an image's label is its top-level folder (images at the top: ''). */
export async function imageFolderSplit(root: string): Promise<DataSplit & { paths: readonly string[] }> {
  const stat = await fs.stat(root).catch(() => null);
  if (!stat?.isDirectory()) throw new DataError(`folder not found: ${root}`, root);
  const paths = await findImageFiles(root);
  if (paths.length === 0) throw new DataError(`no image files found in ${root}`, root);
  const keys = paths.map((p) => (p.includes('/') ? p.slice(0, p.indexOf('/')) : ''));
  const classes = [...new Set(keys)].sort(byCodePoint);
  return Object.assign(new FileSplit('folder', 'test', path.resolve(root), paths, labelsFor(keys, classes), classes), { paths });
}
