// Stanford Cars (CARS196) in either of the layouts people download:
//   official: root/cars_annos.mat + root/car_ims/*.jpg. The .mat (MAT v5) holds `annotations`, a
//     struct array with fields relative_im_path ("car_ims/000001.jpg"), bbox_x1..bbox_y2,
//     class (1-196) and test (the classification split, unused here), and `class_names`, a cell
//     array of the 196 names.
//   folder per class: root/images/<class name>/*.jpg; class ids follow the code-point order of
//     the folder names (as Python's sorted() gives, matching the official order).
// Zero-shot protocol: classes 1-98 train, 99-196 test.
import path from 'node:path';
import { DataError, reasonOf } from '../errors.js';
import { folderOf, isDirectory, isFile, listFolders, listImages, readDataFile, requireFolders, requireRoot } from '../files.js';
import { matNumber, matString, readMat5 } from '../mat5.js';
import type { Dataset } from '../types.js';
import { splitByClassId, type IndexedImage } from './dataset.js';

const NAME = 'cars196';
const LAST_TRAIN_CLASS = 98;
const ANNOTATIONS = 'cars_annos.mat';

export async function openCars196(rootArg: string | undefined): Promise<Dataset> {
  const root = await requireRoot(NAME, rootArg);
  if (await isFile(path.join(root, ANNOTATIONS))) return openOfficial(root);
  if (await isDirectory(path.join(root, 'images'))) return openFolders(root);
  throw new DataError(
    `${NAME}: missing index file ${ANNOTATIONS} (root ${root}); expected cars_annos.mat with car_ims/, or images/<class>/ folders`,
    ANNOTATIONS,
  );
}

async function openOfficial(root: string): Promise<Dataset> {
  const bytes = await readDataFile(NAME, root, ANNOTATIONS, 'an annotation file');
  const images: IndexedImage[] = [];
  const classNames = new Map<number, string>();
  try {
    const vars = readMat5(bytes);
    const annotations = vars.get('annotations');
    if (annotations?.type !== 'struct') throw new Error('no struct array "annotations"');
    annotations.elements.forEach((element, i) => {
      const imagePath = matString(element.get('relative_im_path'), `annotations(${i + 1}).relative_im_path`);
      const classId = matNumber(element.get('class'), `annotations(${i + 1}).class`);
      images.push({ path: imagePath.replace(/\\/g, '/'), classId });
    });
    const names = vars.get('class_names');
    if (names?.type === 'cell') names.cells.forEach((cell, i) => classNames.set(i + 1, matString(cell, `class_names{${i + 1}}`)));
  } catch (err) {
    throw new DataError(`${NAME}: cannot read ${ANNOTATIONS}: ${reasonOf(err)}`, ANNOTATIONS);
  }
  await requireFolders(NAME, root, images.map((im) => folderOf(im.path)));
  return splitByClassId(NAME, root, images, classNames, LAST_TRAIN_CLASS);
}

async function openFolders(root: string): Promise<Dataset> {
  const classes = await listFolders(path.join(root, 'images'));
  if (classes.length === 0) throw new DataError(`${NAME}: no class folders in images/ (root ${root})`, 'images');
  const images: IndexedImage[] = [];
  const classNames = new Map<number, string>();
  for (const [i, name] of classes.entries()) {
    classNames.set(i + 1, name);
    for (const file of await listImages(path.join(root, 'images', name))) images.push({ path: `images/${name}/${file}`, classId: i + 1 });
  }
  return splitByClassId(NAME, root, images, classNames, LAST_TRAIN_CLASS);
}
