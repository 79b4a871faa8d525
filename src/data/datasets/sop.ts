// Stanford Online Products: Ebay_train.txt and Ebay_test.txt, each a header line then
// "image_id class_id super_class_id path" with paths like bicycle_final/111085122871_0.JPG.
// The official files already split the classes (11,318 train, 11,316 test). The root may be the
// Stanford_Online_Products folder or its parent.
import path from 'node:path';
import { fields, folderOf, intField, isDirectory, isFile, readIndexLines, requireFolders, requireRoot } from '../files.js';
import type { Dataset, SplitName } from '../types.js';
import { splitOfImages, trainTestDataset, type IndexedImage } from './dataset.js';

const NAME = 'sop';

export async function openSop(rootArg: string | undefined): Promise<Dataset> {
  const root = await requireRoot(NAME, rootArg);
  const base = (await isFile(path.join(root, 'Ebay_train.txt')))
    ? ''
    : (await isDirectory(path.join(root, 'Stanford_Online_Products')))
      ? 'Stanford_Online_Products'
      : '';
  const rel = (name: string): string => (base ? `${base}/${name}` : name);
  // One after the other, so that with both missing the error always names the train list.
  const train = await readList(root, rel('Ebay_train.txt'), rel);
  const test = await readList(root, rel('Ebay_test.txt'), rel);
  await requireFolders(NAME, root, [...train, ...test].map((im) => folderOf(im.path)));
  const names = new Map<number, string>();
  const split = (name: SplitName, images: IndexedImage[]) => splitOfImages(NAME, name, root, images, names);
  return trainTestDataset(NAME, root, split('train', train), split('test', test));
}

async function readList(root: string, file: string, rel: (name: string) => string): Promise<IndexedImage[]> {
  const lines = await readIndexLines(NAME, root, file);
  const body = lines[0]?.startsWith('image_id') ? lines.slice(1) : lines;
  const offset = lines.length - body.length + 1;
  return body.map((line, i) => {
    const [, classId, , imagePath] = fields(NAME, file, i + offset, line, 4) as [string, string, string, string];
    return { path: rel(imagePath), classId: intField(NAME, file, i + offset, classId) };
  });
}
