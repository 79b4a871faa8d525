// In-Shop Clothes Retrieval (DeepFashion): list_eval_partition.txt holds a count line, a header
// line "image_name item_id evaluation_status", then "img/<...>/<item_id>/<file>.jpg item_id status"
// with status train, query or gallery. Train items and query/gallery items are disjoint; query
// and gallery share the same items, so they share one label space. Both the flat layout
// (root/list_eval_partition.txt, root/img/) and the download's (root/Eval/..., root/Img/img/) work.
import path from 'node:path';
import { DataError } from '../errors.js';
import { fields, folderOf, isDirectory, isFile, readIndexLines, requireFolders, requireRoot } from '../files.js';
import { byCodePoint, FileSplit, labelsFor } from '../split.js';
import type { Dataset, SplitName } from '../types.js';
import { queryGalleryDataset } from './dataset.js';

const NAME = 'inshop';
const STATUSES = ['train', 'query', 'gallery'] as const;
type Status = (typeof STATUSES)[number];

interface Entry {
  readonly path: string;
  readonly item: string;
}

export async function openInshop(rootArg: string | undefined): Promise<Dataset> {
  const root = await requireRoot(NAME, rootArg);
  const file = (await isFile(path.join(root, 'Eval', 'list_eval_partition.txt')))
    && !(await isFile(path.join(root, 'list_eval_partition.txt')))
    ? 'Eval/list_eval_partition.txt'
    : 'list_eval_partition.txt';
  const imagePrefix = !(await isDirectory(path.join(root, 'img'))) && (await isDirectory(path.join(root, 'Img', 'img'))) ? 'Img/' : '';
  const lines = await readIndexLines(NAME, root, file);

  let first = 0;
  let declared: number | undefined;
  if (/^\d+$/.test(lines[0] ?? '')) {
    declared = Number(lines[0]);
    first = 1;
  }
  if (lines[first]?.startsWith('image_name')) first++;
  const entries: Record<Status, Entry[]> = { train: [], query: [], gallery: [] };
  for (let i = first; i < lines.length; i++) {
    const [image, item, status] = fields(NAME, file, i + 1, lines[i] ?? '', 3) as [string, string, string];
    if (!(STATUSES as readonly string[]).includes(status)) {
      throw new DataError(`${NAME}: ${file} line ${i + 1}: unknown evaluation status "${status}"`, file);
    }
    entries[status as Status].push({ path: imagePrefix + image, item });
  }
  const total = lines.length - first;
  if (declared !== undefined && declared !== total) {
    throw new DataError(`${NAME}: ${file} declares ${declared} images but lists ${total}`, file);
  }
  await requireFolders(NAME, root, [...entries.train, ...entries.query, ...entries.gallery].map((e) => folderOf(e.path)));

  const split = (name: SplitName, list: Entry[], items: readonly string[]) =>
    new FileSplit(NAME, name, root, list.map((e) => e.path), labelsFor(list.map((e) => e.item), items), items);
  const itemsOf = (...lists: Entry[][]) => [...new Set(lists.flat().map((e) => e.item))].sort(byCodePoint);
  const evalItems = itemsOf(entries.query, entries.gallery);
  return queryGalleryDataset(
    NAME,
    root,
    split('train', entries.train, itemsOf(entries.train)),
    split('query', entries.query, evalItems),
    split('gallery', entries.gallery, evalItems),
  );
}
