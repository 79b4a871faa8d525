// safetensors: round trip, the byte layout of the format, atomic writes, clear errors.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { liveTensors, readSafetensors, readSafetensorsHeader, tensor, writeSafetensors } from '../../src/torch/index.js';
import { values } from '../helpers/gradcheck.js';

const dir = mkdtempSync(join(tmpdir(), 'mdprop-st-'));

describe('safetensors', () => {
  it('round-trips tensors of several dtypes and metadata', () => {
    const path = join(dir, 'a.safetensors');
    writeSafetensors(
      path,
      {
        'layer.weight': tensor([1, 2, 3, 4, 5, 6], [2, 3]),
        labels: tensor(new BigInt64Array([3n, -1n])),
        flags: tensor([1, 0], [2], { dtype: 'bool' }),
        d: tensor(new Float64Array([Math.PI])),
      },
      { paths: JSON.stringify(['a.png', 'b.png']) },
    );
    const { tensors, metadata } = readSafetensors(path);
    assert.deepEqual(tensors.get('layer.weight')!.shape, [2, 3]);
    assert.deepEqual(tensors.get('layer.weight')!.toNumbers(), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(values(tensors.get("labels")!.data()), [3n, -1n]);
    assert.equal(tensors.get('flags')!.dtype, 'bool');
    assert.equal(tensors.get('d')!.item(), Math.PI);
    assert.deepEqual(JSON.parse(metadata.paths!), ['a.png', 'b.png']);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('.tmp')),
      [],
    );
  });

  it('writes the documented layout: u64 header length, JSON header, raw little-endian data', () => {
    const path = join(dir, 'layout.safetensors');
    writeSafetensors(path, { x: tensor([1.5, -2]) });
    const bytes = readFileSync(path);
    const n = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString());
    assert.deepEqual(header.x, { dtype: 'F32', shape: [2], data_offsets: [0, 8] });
    assert.equal((8 + n) % 8, 0);
    assert.equal(bytes.readFloatLE(8 + n), 1.5);
    assert.equal(bytes.readFloatLE(8 + n + 4), -2);
  });

  it('reads a file written by hand as another writer would', () => {
    const header = Buffer.from(JSON.stringify({ __metadata__: { k: 'v' }, w: { dtype: 'I32', shape: [1, 2], data_offsets: [0, 8] } }));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    const data = Buffer.alloc(8);
    data.writeInt32LE(-7, 0);
    data.writeInt32LE(9, 4);
    const path = join(dir, 'hand.safetensors');
    writeFileSync(path, Buffer.concat([len, header, data]));
    const { tensors, metadata } = readSafetensors(path);
    assert.deepEqual(tensors.get('w')!.toNumbers(), [-7, 9]);
    assert.equal(metadata.k, 'v');
  });

  it('names the file in errors', () => {
    const path = join(dir, 'bad.safetensors');
    writeFileSync(path, Buffer.from([1, 2, 3]));
    assert.throws(() => readSafetensors(path), new RegExp(`${path}: not a safetensors file`));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(1000n);
    writeFileSync(path, Buffer.concat([len, Buffer.from('{}')]));
    assert.throws(() => readSafetensors(path), /header length/);
    const header = Buffer.from(JSON.stringify({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }));
    len.writeBigUInt64LE(BigInt(header.length));
    writeFileSync(path, Buffer.concat([len, header, Buffer.alloc(4)]));
    assert.throws(() => readSafetensors(path), /tensor "w": byte range \[0, 16\) ends past the 4 bytes/);
  });

  // Headers a hostile writer could craft: each is refused, by name, before any tensor exists.
  const crafted: [string, Record<string, unknown>, number, RegExp][] = [
    ['overlapping ranges', { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12, /tensor "b": byte range \[4, 12\) overlaps/],
    ['a second name for the same bytes', { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, 8, /tensor "b": .*overlaps/],
    ['a gap', { a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8, /tensor "a": .*gap after byte 0/],
    ['bytes after the last tensor', { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 8, /cover 4 bytes of data, the file holds 8/],
    ['fractional offsets', { a: { dtype: 'F32', shape: [1], data_offsets: [0.5, 4.5] } }, 8, /tensor "a": data_offsets \[0.5, 4.5\]/],
    ['a range shorter than the shape', { a: { dtype: 'F32', shape: [0, 900000, 3, 3], data_offsets: [0, 4] } }, 4, /tensor "a": .*needs 0/],
    ['a huge shape', { a: { dtype: 'F32', shape: [1e6, 1e6, 1e6], data_offsets: [0, 4] } }, 4, /tensor "a": byte range/],
    ['negative dimensions', { a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4, /tensor "a": shape \[-1\]/],
    ['an entry that is not an object', { a: 5 }, 0, /tensor "a": not an object/],
    ['no dtype', { a: { shape: [1], data_offsets: [0, 4] } }, 4, /tensor "a": unsupported dtype undefined/],
    ['metadata that is not strings', { __metadata__: { k: 1 } }, 0, /__metadata__ entry "k" is not a string/],
    ['a header that is a list', [] as unknown as Record<string, unknown>, 0, /not a JSON object/],
  ];
  for (const [what, header, dataBytes, expected] of crafted) {
    it(`refuses ${what}, naming the file and the entry`, () => {
      const path = join(dir, 'crafted.safetensors');
      const json = Buffer.from(JSON.stringify(header));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      writeFileSync(path, Buffer.concat([len, json, Buffer.alloc(dataBytes)]));
      const before = liveTensors();
      assert.throws(() => readSafetensors(path), (err: Error) => err.message.startsWith(`${path}: `) && expected.test(err.message));
      assert.throws(() => readSafetensorsHeader(path), expected);
      assert.equal(liveTensors(), before);
    });
  }

  it('refuses a header length beyond the file before reading it', () => {
    const path = join(dir, 'long.safetensors');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(2n ** 62n);
    writeFileSync(path, Buffer.concat([len, Buffer.from('{}')]));
    assert.throws(() => readSafetensorsHeader(path), /header length 4611686018427387904 exceeds/);
  });
});
