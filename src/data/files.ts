// File-system helpers for dataset readers: each failure becomes a DataError naming the path,
// relative to the dataset root where there is one.
import { promises as fs, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { MAX_DATA_FILE_BYTES, readFileCapped } from './capped-read.js';
import { DataError } from './errors.js';

/** Image file extensions that sharp decodes and dataset folders use. */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif']);

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase());
}

async function statOrNull(p: string): Promise<Stats | null> {
  try {
    return await fs.stat(p);
  } catch {
    return null;
  }
}

export async function isDirectory(p: string): Promise<boolean> {
  return (await statOrNull(p))?.isDirectory() ?? false;
}

export async function isFile(p: string): Promise<boolean> {
  return (await statOrNull(p))?.isFile() ?? false;
}

/** isFile and isDirectory for checks that cannot wait (settings resolved before any work). */
export function isFileNow(p: string): boolean {
  return statNowOrNull(p)?.isFile() ?? false;
}

export function isDirectoryNow(p: string): boolean {
  return statNowOrNull(p)?.isDirectory() ?? false;
}

function statNowOrNull(p: string): Stats | null {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

/** The absolute root folder, or an error if it is not given or not a folder. */
export async function requireRoot(dataset: string, root: string | undefined): Promise<string> {
  if (root === undefined || root === '') throw new DataError(`${dataset}: a root folder is required`, '');
  const abs = path.resolve(root);
  const stat = await statOrNull(abs);
  if (!stat) throw new DataError(`${dataset}: missing root folder ${abs}`, abs);
  if (!stat.isDirectory()) throw new DataError(`${dataset}: root ${abs} is not a folder`, abs);
  return abs;
}

/** A dataset's index or annotation file under `root`, at most MAX_DATA_FILE_BYTES; errors name it and the root. */
export async function readDataFile(dataset: string, root: string, rel: string, what: string): Promise<Buffer> {
  return readFileCapped(path.join(root, rel), MAX_DATA_FILE_BYTES, what, ({ reason, code }) => {
    const problem = code === 'ENOENT' ? `missing ${what.replace(/^an? /, '')}` : `cannot read ${what.replace(/^an? /, '')} (${reason})`;
    return new DataError(`${dataset}: ${problem} ${rel} (root ${root})`, rel);
  });
}

/** The non-empty lines of an index file under `root`; `rel` uses forward slashes. */
export async function readIndexLines(dataset: string, root: string, rel: string): Promise<string[]> {
  const text = (await readDataFile(dataset, root, rel, 'an index file')).toString('utf8');
  return text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '');
}

/** Splits an index line into exactly `count` whitespace-separated fields (the last takes the rest). */
export function fields(dataset: string, file: string, lineNo: number, line: string, count: number): string[] {
  const parts = line.split(/\s+/);
  if (parts.length < count) {
    throw new DataError(`${dataset}: ${file} line ${lineNo}: expected ${count} fields, got "${line}"`, file);
  }
  return [...parts.slice(0, count - 1), parts.slice(count - 1).join(' ')];
}

/** A positive integer field, or an error naming the file and line. */
export function intField(dataset: string, file: string, lineNo: number, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value)) throw new DataError(`${dataset}: ${file} line ${lineNo}: "${text}" is not an integer`, file);
  return value;
}

/** Checks that every folder an index names exists; `rels` are relative to `root`. */
export async function requireFolders(dataset: string, root: string, rels: Iterable<string>): Promise<void> {
  const unique = [...new Set(rels)].sort();
  const present = await Promise.all(unique.map((rel) => isDirectory(path.join(root, rel))));
  const missing = unique.find((_, i) => !present[i]);
  if (missing !== undefined) throw new DataError(`${dataset}: missing class folder ${missing} (root ${root})`, missing);
}

/** The entries of `dir` (hidden ones left out) with symbolic links resolved, as `mdprop embed` follows them. */
async function entriesOf(dir: string): Promise<{ name: string; folder: boolean; file: boolean }[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  const visible = entries.filter((e) => !e.name.startsWith('.'));
  return Promise.all(
    visible.map(async (e) => {
      const target = e.isSymbolicLink() ? await statOrNull(path.join(dir, e.name)) : e;
      return { name: e.name, folder: target?.isDirectory() ?? false, file: target?.isFile() ?? false };
    }),
  );
}

/** Names of the sub-folders of `dir` (links to folders included), hidden ones left out, in code-point order. */
export async function listFolders(dir: string): Promise<string[]> {
  return (await entriesOf(dir)).filter((e) => e.folder).map((e) => e.name).sort();
}

/** Names of the image files directly in `dir` (links to files included), in code-point order. */
export async function listImages(dir: string): Promise<string[]> {
  return (await entriesOf(dir)).filter((e) => e.file && isImageFile(e.name)).map((e) => e.name).sort();
}

/** The parent folder part of a relative path with forward slashes ('' at top level). */
export function folderOf(rel: string): string {
  const cut = rel.lastIndexOf('/');
  return cut < 0 ? '' : rel.slice(0, cut);
}
