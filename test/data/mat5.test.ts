import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { matNumber, matString, readMat5, type MatValue } from '../../src/data/mat5.js';
import { char, num, writeMat5 } from './mat5-writer.js';

const scipyFixture = new URL('../../../test/data/fixtures/cars_annos_scipy.mat', import.meta.url);

function struct(value: MatValue | undefined) {
  assert.equal(value?.type, 'struct');
  return value;
}

test('reads a scipy-written cars_annos.mat stand-in', () => {
  const vars = readMat5(readFileSync(scipyFixture));
  const annotations = struct(vars.get('annotations'));
  assert.deepEqual(annotations.dims, [1, 3]);
  assert.deepEqual(annotations.fieldNames, ['relative_im_path', 'bbox_x1', 'bbox_y1', 'bbox_x2', 'bbox_y2', 'class', 'test']);
  const paths = annotations.elements.map((e) => matString(e.get('relative_im_path'), 'path'));
  assert.deepEqual(paths, ['car_ims/000001.jpg', 'car_ims/000002.jpg', 'car_ims/000003.jpg']);
  assert.deepEqual(annotations.elements.map((e) => matNumber(e.get('class'), 'class')), [1, 99, 196]);
  assert.deepEqual(annotations.elements.map((e) => matNumber(e.get('bbox_x2'), 'x2')), [300, 300, 300]);
  const names = vars.get('class_names');
  assert.equal(names?.type, 'cell');
  assert.deepEqual(names.cells.map((c) => matString(c, 'name')), ['AM General Hummer SUV 2000', 'Acura RL Sedan 2012', 'Ünïcode name']);
});

for (const options of [{ compress: true }, { compress: false }, { compress: true, bigEndian: true }]) {
  test(`reads MATLAB-style storage (${JSON.stringify(options)})`, () => {
    const bytes = writeMat5(
      {
        annotations: {
          kind: 'struct',
          fields: ['relative_im_path', 'class', 'score'],
          elements: [
            { relative_im_path: char('car_ims/000001.jpg'), class: num(7), score: num(0.25) },
            { relative_im_path: char('car_ims/000002.jpg', 'uint16'), class: num(196), score: num(-3, 'int32') },
          ],
        },
        grid: { kind: 'number', values: [1, 2, 3, 4, 5, 6], dims: [2, 3] },
        words: { kind: 'char', rows: ['ab', 'cd'] },
      },
      options,
    );
    const vars = readMat5(bytes);
    const annotations = struct(vars.get('annotations'));
    assert.deepEqual(annotations.elements.map((e) => matString(e.get('relative_im_path'), 'p')), ['car_ims/000001.jpg', 'car_ims/000002.jpg']);
    assert.deepEqual(annotations.elements.map((e) => matNumber(e.get('class'), 'c')), [7, 196]);
    assert.deepEqual(annotations.elements.map((e) => matNumber(e.get('score'), 's')), [0.25, -3]);
    const grid = vars.get('grid');
    assert.equal(grid?.type, 'numeric');
    assert.deepEqual(grid.dims, [2, 3]);
    assert.deepEqual([...grid.data], [1, 2, 3, 4, 5, 6]);
    assert.equal(grid.matClass, 'double');
    const words = vars.get('words');
    assert.equal(words?.type, 'char');
    assert.deepEqual(words.rows, ['ab', 'cd']);
  });
}

test('rejects what it does not read, with a reason', () => {
  assert.throws(() => readMat5(new Uint8Array(10)), /shorter than the 128-byte header/);
  const v73 = Buffer.alloc(512);
  v73.write('MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00', 0, 'latin1');
  assert.throws(() => readMat5(v73), /v7\.3 \(HDF5\)/);
  assert.throws(() => readMat5(Buffer.alloc(200)), /no endian indicator/);
  assert.throws(() => readMat5(writeMat5({ s: { kind: 'sparse' } })), /sparse is not supported/);
  const whole = writeMat5({ x: { kind: 'number', values: [1.5, 2.5] } }, { compress: false });
  assert.throws(() => readMat5(whole.subarray(0, whole.length - 8)), /truncated/);
  assert.throws(() => matString(undefined, 'annotations(1).relative_im_path'), /annotations\(1\)\.relative_im_path: expected text/);
});
