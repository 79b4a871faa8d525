// The pickle reader on hand-assembled opcodes, checkpoints in both of torch.save's formats, and
// damaged or unusual ones written by
// python3-torch: each is a JS error naming the file, never a crash, and nothing is left allocated.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { isPytorchCheckpoint, liveTensors, readPytorchCheckpoint, readSafetensors } from '../../src/torch/index.js';
import { unpickle, type PickleValue } from '../../src/torch/pickle.js';

const python = process.env.MDPROP_REFERENCE_PYTHON ?? '/usr/bin/python3';
const dir = mkdtempSync(join(tmpdir(), 'mdprop-ckpt-'));
const hasTorch = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

const bytes = (...parts: (number | string)[]) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : [...Buffer.from(p, 'latin1')])));

describe('unpickle', () => {
  it('reads an OrderedDict with _metadata state, ints, floats, strings, tuples and memo references', () => {
    // OrderedDict() ; {'a': 1, 'b': (-2, 0.5, 'x'), 'c': <memo 1>} ; BUILD {'_metadata': None}
    const data = bytes(
      0x80, 2, 'c', 'collections\nOrderedDict\n', 0x29, 'R', 'q', 0,
      '(', 0x8c, 1, 'a', 'K', 1,
      0x8c, 1, 'b', 'J', 0xfe, 0xff, 0xff, 0xff, 'G', 0x3f, 0xe0, 0, 0, 0, 0, 0, 0, 0x8c, 1, 'x', 0x87, 'q', 1,
      0x8c, 1, 'c', 'h', 1, 'u',
      '}', 0x8c, 9, '_metadata', 'N', 's', 'b', '.',
    );
    const v = unpickle(data, { globals: new Set(['collections.OrderedDict']) }) as Map<PickleValue, PickleValue>;
    assert.ok(v instanceof Map);
    assert.deepEqual([...v.keys()], ['a', 'b', 'c']);
    assert.equal(v.get('a'), 1);
    assert.deepEqual(v.get('b'), { kind: 'tuple', items: [-2, 0.5, 'x'] });
    assert.equal(v.get('c'), v.get('b'));
  });

  it('refuses globals it was not given and names the byte of a truncated or unknown opcode', () => {
    assert.throws(() => unpickle(bytes(0x80, 2, 'c', 'os\nsystem\n', 0x8c, 2, 'ls', 0x85, 'R', '.')), /pickle byte 2: the global "os\.system" is not one a state dict holds/);
    assert.throws(() => unpickle(bytes(0x80, 2, 'X', 10, 0, 0, 0, 'ab')), /pickle byte 2: needs 10 more bytes.*truncated/);
    assert.throws(() => unpickle(bytes(0x80, 2, 0xff)), /opcode 0xff is not one torch\.save writes/);
    assert.throws(() => unpickle(bytes(0x80, 2, 'N', 'N', '.')), /2 values left on the stack/);
  });
});

describe('telling checkpoints from safetensors', () => {
  it('a safetensors file whose header length starts with the bytes of a pickle (640 = 0x80 0x02) stays safetensors', () => {
    const path = join(dir, 'looks-like-pickle.safetensors');
    const header = Buffer.from(JSON.stringify({ __metadata__: { note: 'x' } }).padEnd(640, ' '));
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(640n);
    writeFileSync(path, Buffer.concat([length, header]));
    assert.deepEqual([...length.subarray(0, 2)], [0x80, 0x02]);
    assert.equal(isPytorchCheckpoint(path), false);
    assert.equal(readSafetensors(path).metadata.note, 'x');
  });
});

describe('readPytorchCheckpoint on damaged and unusual files', () => {
  before(() => {
    if (!hasTorch) return;
    const script = `
import torch, sys
d = sys.argv[1]
s = {"w": torch.arange(6.).reshape(2, 3), "t": torch.arange(12.).reshape(3, 4).t(), "n": torch.tensor(5)}
torch.save(s, f"{d}/ok.pth")
torch.save(s, f"{d}/legacy.pth", _use_new_zipfile_serialization=False)
torch.save(torch.nn.Linear(2, 2), f"{d}/module.pth")
torch.save({"a": s, "b": s}, f"{d}/two.pth")
torch.save({"note": "no tensors"}, f"{d}/none.pth")
`;
    const r = spawnSync(python, ['-c', script, dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const ok = readFileSync(join(dir, 'ok.pth'));
    writeFileSync(join(dir, 'truncated.pth'), ok.subarray(0, Math.floor(ok.length / 2)));
    const legacy = readFileSync(join(dir, 'legacy.pth'));
    writeFileSync(join(dir, 'legacy-truncated.pth'), legacy.subarray(0, legacy.length - 10));
    const flipped = Buffer.from(ok);
    for (let i = 60; i < flipped.length - 200; i += 97) flipped[i] ^= 0x5a;
    writeFileSync(join(dir, 'corrupt.pth'), flipped);
    writeFileSync(join(dir, 'text.pth'), 'not a checkpoint\n');
    // A pickle opening like torch.save's (PROTO 2, LONG1) whose number is not the magic one.
    writeFileSync(join(dir, 'pickle.pth'), Buffer.from([0x80, 2, 0x8a, 1, 7, 0x2e]));
  });

  it('reads values, strides (a transposed view) and scalars as PyTorch saved them, in the zip and the legacy format', (t) => {
    if (!hasTorch) return t.skip(`${python} cannot import torch`);
    for (const name of ['ok.pth', 'legacy.pth']) {
      const { tensors, foundAt } = readPytorchCheckpoint(join(dir, name));
      assert.equal(foundAt, null);
      assert.deepEqual([...tensors.get('w')!.data()], [0, 1, 2, 3, 4, 5], name);
      assert.deepEqual(tensors.get('t')!.shape, [4, 3]);
      assert.deepEqual([...tensors.get('t')!.data()], [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11], name);
      assert.equal(tensors.get('n')!.item(), 5);
      for (const x of tensors.values()) x.dispose();
    }
  });

  it('every damaged or unusual file is an error naming it, and nothing stays allocated', (t) => {
    if (!hasTorch) return t.skip(`${python} cannot import torch`);
    const live = liveTensors();
    const cases: [string, RegExp][] = [
      ['legacy-truncated.pth', /legacy format: (the file ends before storage "\d+"|storage "\d+" of \d+ elements runs past the end of the file) \(truncated\?\)/],
      ['truncated.pth', /cannot be read as a torch\.save archive \(truncated or corrupt\?\)/],
      ['corrupt.pth', /(cannot be read|data\.pkl|storage)/],
      ['text.pth', /is not a PyTorch checkpoint/],
      ['pickle.pth', /starts with a pickle but not with torch\.save's magic number/],
      ['module.pth', /the global "torch\.nn\.modules\.linear\.Linear" is not one a state dict holds.*state_dict\(\)/],
      ['two.pth', /several entries hold tensor dicts \("a", "b"\)/],
      ['none.pth', /\{"note": string\}.*no entry holds a dict of tensors/],
      ['missing.pth', /file not found/],
    ];
    for (const [name, pattern] of cases) {
      const path = join(dir, name);
      assert.throws(() => readPytorchCheckpoint(path), (err: Error) => err.message.startsWith(`${path}: `) && pattern.test(err.message), name);
    }
    assert.equal(liveTensors(), live);
  });
});
