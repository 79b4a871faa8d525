// Test helper: small copies of every dataset layout, with real image files (made with sharp)
// and real index files, in a fresh temporary folder.
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { char, num, writeMat5 } from './mat5-writer.js';

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `mdprop-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A small solid-colour image; the format follows the extension (.jpg, .png). */
export async function writeImage(file: string, width = 12, height = 10, colour = [200, 30, 90]): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(colour.map((c) => (c + i) % 256), i * 3);
  const img = sharp(data, { raw: { width, height, channels: 3 } });
  await (file.toLowerCase().endsWith('.png') ? img.png() : img.jpeg()).toFile(file);
}

/** Bytes that no decoder accepts, with an image's name. */
export async function writeCorrupt(file: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, 'this is not an image');
}

async function writeText(file: string, lines: readonly string[]): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, `${lines.join('\n')}\n`);
}

/**
 * CUB_200_2011 under `root`: classes 1 and 2 (train, 3 and 2 images), 101 and 102 (test, 2 each).
 * With `corrupt`, the second image of class 101 is not an image.
 */
export async function makeCub(root: string, options: { corrupt?: boolean } = {}): Promise<void> {
  const base = path.join(root, 'CUB_200_2011');
  const classes: [number, string, number][] = [[1, '001.Black_footed_Albatross', 3], [2, '002.Laysan_Albatross', 2], [101, '101.White_Pelican', 2], [102, '102.Western_Wood_Pewee', 2]];
  const images: string[] = [];
  const labels: string[] = [];
  let id = 0;
  for (const [classId, folder, count] of classes) {
    for (let k = 0; k < count; k++) {
      id++;
      const file = `${folder}/${folder.slice(4)}_${String(k).padStart(4, '0')}_${id}.jpg`;
      images.push(`${id} ${file}`);
      labels.push(`${id} ${classId}`);
      const target = path.join(base, 'images', file);
      if (options.corrupt && classId === 101 && k === 1) await writeCorrupt(target);
      else await writeImage(target, 12, 10, [classId, 2 * k, 50]);
    }
  }
  await writeText(path.join(base, 'images.txt'), images);
  await writeText(path.join(base, 'image_class_labels.txt'), labels);
  await writeText(path.join(base, 'classes.txt'), classes.map(([classId, folder]) => `${classId} ${folder}`));
  await writeText(path.join(base, 'train_test_split.txt'), images.map((_, i) => `${i + 1} ${i % 2}`));
}

/** Official Stanford Cars: cars_annos.mat + car_ims/. Classes 1, 98 (train) and 99, 196 (test). */
export async function makeCarsOfficial(root: string, options: { corrupt?: boolean } = {}): Promise<void> {
  const plan: [number, number][] = [[1, 2], [98, 3], [99, 2], [196, 2]];
  const elements: Record<string, ReturnType<typeof char>>[] = [];
  let id = 0;
  for (const [classId, count] of plan) {
    for (let k = 0; k < count; k++) {
      id++;
      const rel = `car_ims/${String(id).padStart(6, '0')}.jpg`;
      elements.push({
        relative_im_path: char(rel),
        bbox_x1: num(1), bbox_y1: num(2), bbox_x2: num(10), bbox_y2: num(300),
        class: num(classId), test: num(id % 2),
      });
      if (options.corrupt && id === 8) await writeCorrupt(path.join(root, rel));
      else await writeImage(path.join(root, rel), 16, 9, [classId, k, 0]);
    }
  }
  const classNames = Array.from({ length: 196 }, (_, i) => char(i === 0 ? 'AM General Hummer SUV 2000' : `Car Model ${i + 1}`));
  const mat = writeMat5({
    annotations: { kind: 'struct', fields: ['relative_im_path', 'bbox_x1', 'bbox_y1', 'bbox_x2', 'bbox_y2', 'class', 'test'], elements },
    class_names: { kind: 'cell', items: classNames },
  });
  await fs.writeFile(path.join(root, 'cars_annos.mat'), mat);
}

/** Folder-per-class Cars: images/<196 class folders>, one image each, two in the first and last. */
export async function makeCarsFolders(root: string): Promise<string[]> {
  // Names sort by code point: "AM ..." before "Acura ...", as in the official class order.
  const names = ['AM General Hummer SUV 2000', 'Acura RL Sedan 2012', ...Array.from({ length: 194 }, (_, i) => `Model ${String(i).padStart(3, '0')}`)];
  const one = path.join(root, 'one.png');
  await writeImage(one, 8, 8);
  const bytes = await fs.readFile(one);
  await fs.rm(one);
  for (const [i, name] of names.entries()) {
    const dir = path.join(root, 'images', name);
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, '00001.png'), bytes);
    if (i === 0 || i === names.length - 1) await fs.writeFile(path.join(dir, '00002.png'), bytes);
  }
  await fs.writeFile(path.join(root, 'images', names[0] as string, 'notes.txt'), 'not an image, ignored');
  return names;
}

/** Stanford_Online_Products under `root`: train classes 1-3, test classes 4-5. */
export async function makeSop(root: string, options: { corrupt?: boolean } = {}): Promise<void> {
  const base = path.join(root, 'Stanford_Online_Products');
  const header = 'image_id class_id super_class_id path';
  const train = [header, '1 1 1 bicycle_final/111085122871_0.JPG', '2 1 1 bicycle_final/111085122871_1.JPG', '3 2 1 bicycle_final/111265328556_0.JPG', '4 3 2 chair_final/111182689872_0.JPG', '5 3 2 chair_final/111182689872_1.JPG'];
  const test = [header, '6 4 1 bicycle_final/251952414262_0.JPG', '7 4 1 bicycle_final/251952414262_1.JPG', '8 5 2 chair_final/261123456789_0.JPG'];
  await writeText(path.join(base, 'Ebay_train.txt'), train);
  await writeText(path.join(base, 'Ebay_test.txt'), test);
  await writeText(path.join(base, 'Ebay_info.txt'), [header]);
  for (const line of [...train.slice(1), ...test.slice(1)]) {
    const rel = line.split(' ')[3] as string;
    if (options.corrupt && rel.endsWith('261123456789_0.JPG')) await writeCorrupt(path.join(base, rel));
    else await writeImage(path.join(base, rel), 10, 10);
  }
}

/** In-Shop: list_eval_partition.txt + img/; 2 train items (3 images), 2 eval items (query 2, gallery 3). */
export async function makeInshop(root: string, options: { corrupt?: boolean } = {}): Promise<void> {
  const rows: [string, string, string][] = [
    ['img/WOMEN/Dresses/id_00000002/02_1_front.jpg', 'id_00000002', 'train'],
    ['img/WOMEN/Dresses/id_00000002/02_2_side.jpg', 'id_00000002', 'train'],
    ['img/MEN/Denim/id_00000007/01_1_front.jpg', 'id_00000007', 'train'],
    ['img/WOMEN/Skirts/id_00000008/02_1_front.jpg', 'id_00000008', 'query'],
    ['img/WOMEN/Skirts/id_00000008/02_2_side.jpg', 'id_00000008', 'gallery'],
    ['img/WOMEN/Skirts/id_00000008/02_3_back.jpg', 'id_00000008', 'gallery'],
    ['img/MEN/Tees_Tanks/id_00000003/01_1_front.jpg', 'id_00000003', 'query'],
    ['img/MEN/Tees_Tanks/id_00000003/01_2_side.jpg', 'id_00000003', 'gallery'],
  ];
  const lines = [String(rows.length), 'image_name item_id evaluation_status', ...rows.map(([p, item, status]) => `${p}                ${item}    ${status}`)];
  await writeText(path.join(root, 'list_eval_partition.txt'), lines);
  for (const [rel] of rows) {
    if (options.corrupt && rel.endsWith('02_3_back.jpg')) await writeCorrupt(path.join(root, rel));
    else await writeImage(path.join(root, rel), 8, 12);
  }
}

/** A folder-per-class tree: 4 classes (a, b, c, d) of 2 images; optional train.txt/test.txt. */
export async function makeFolder(root: string, options: { lists?: boolean; corrupt?: boolean } = {}): Promise<void> {
  for (const cls of ['a', 'b', 'c', 'd']) {
    for (const k of [1, 2]) {
      const file = path.join(root, cls, `${cls}${k}.png`);
      if (options.corrupt && cls === 'd' && k === 2) await writeCorrupt(file);
      else await writeImage(file, 6, 6);
    }
  }
  await fs.mkdir(path.join(root, 'empty'), { recursive: true });
  if (options.lists) {
    await writeText(path.join(root, 'train.txt'), ['a/a1.png', 'a/a2.png', 'c/c1.png', 'c/c2.png']);
    await writeText(path.join(root, 'test.txt'), ['b/b1.png', 'b/b2.png', 'd/d1.png']);
  }
}
