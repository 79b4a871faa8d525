// CUB-200-2011 in its official archive layout:
//   CUB_200_2011/images.txt               "<image_id> <class folder>/<file>.jpg"
//   CUB_200_2011/image_class_labels.txt   "<image_id> <class_id>"
//   CUB_200_2011/classes.txt              "<class_id> <NNN.Class_Name>"
//   CUB_200_2011/images/<NNN.Class_Name>/*.jpg
// Zero-shot protocol: classes 1-100 train, 101-200 test. The root may be the CUB_200_2011
// folder or its parent; paths in reports stay relative to the root the user named.
import path from 'node:path';
import { DataError } from '../errors.js';
import { fields, folderOf, intField, isDirectory, isFile, readIndexLines, requireFolders, requireRoot } from '../files.js';
import type { Dataset } from '../types.js';
import { splitByClassId, type IndexedImage } from './dataset.js';

const NAME = 'cub200';
const LAST_TRAIN_CLASS = 100;

export async function openCub200(rootArg: string | undefined): Promise<Dataset> {
  const root = await requireRoot(NAME, rootArg);
  const base = await baseFolder(root);
  const rel = (name: string): string => (base ? `${base}/${name}` : name);

  const imageFile = rel('images.txt');
  const labelFile = rel('image_class_labels.txt');
  const classFile = rel('classes.txt');
  // In a fixed order, so that the error for several missing files is always the same one.
  const imageLines = await readIndexLines(NAME, root, imageFile);
  const labelLines = await readIndexLines(NAME, root, labelFile);
  const classLines = await readIndexLines(NAME, root, classFile);

  const classNames = new Map<number, string>();
  classLines.forEach((line, i) => {
    const [id, name] = fields(NAME, classFile, i + 1, line, 2) as [string, string];
    classNames.set(intField(NAME, classFile, i + 1, id), name);
  });
  const classOfImage = new Map<string, number>();
  labelLines.forEach((line, i) => {
    const [imageId, classId] = fields(NAME, labelFile, i + 1, line, 2) as [string, string];
    classOfImage.set(imageId, intField(NAME, labelFile, i + 1, classId));
  });

  const images: IndexedImage[] = imageLines.map((line, i) => {
    const [imageId, file] = fields(NAME, imageFile, i + 1, line, 2) as [string, string];
    const classId = classOfImage.get(imageId);
    if (classId === undefined) throw new DataError(`${NAME}: ${labelFile} has no class for image ${imageId} (${file})`, labelFile);
    if (!classNames.has(classId)) throw new DataError(`${NAME}: ${classFile} has no class ${classId}`, classFile);
    return { path: rel(`images/${file}`), classId };
  });
  await requireFolders(NAME, root, images.map((im) => folderOf(im.path)));
  return splitByClassId(NAME, root, images, classNames, LAST_TRAIN_CLASS);
}

/** '' when the root holds images.txt itself, 'CUB_200_2011' when it is the archive's parent. */
async function baseFolder(root: string): Promise<string> {
  if (await isFile(path.join(root, 'images.txt'))) return '';
  if (await isDirectory(path.join(root, 'CUB_200_2011'))) return 'CUB_200_2011';
  return '';
}
