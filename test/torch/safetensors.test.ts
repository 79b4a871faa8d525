// safetensors: round trip, the byte layout of the format, atomic writes, clear errors.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readSafetensors, tensor, writeSafetensors } from '../../src/torch/index.js';
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
    assert.throws(() => readSafetensors(path), /tensor 'w' has byte range/);
  });
});
