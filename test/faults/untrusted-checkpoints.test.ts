// PyTorch checkpoints a hostile uploader could craft, a few kilobytes to a few megabytes each, that
// once made mdprop exhaust its heap, hang, or write gigabytes: each is now refused by the limit it
// runs into, with a one-line error naming the file, while the reading child's resident set grows
// by less than the bound stated beside each case. Every case runs `weights convert` in a child
// process under a memory limit (untrusted-harness.ts).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { bytes, floats, global, int, stateDictPickle, str, torchZip, writeCraftedCheckpoint, type CraftedTensor } from '../helpers/crafted-torch.js';
import type { ChildCase } from './untrusted-child.js';
import { describeRun, runChild } from './untrusted-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'mdprop-untrusted-'));
const six = floats([1, 2, 3, 4, 5, 6]);
const w = (extra: Partial<CraftedTensor> = {}): CraftedTensor => ({ name: 'w', key: '0', numel: 6, offset: 0, size: [2, 3], stride: [3, 1], ...extra });
const fill = (n: number, byte: number) => new Uint8Array(n).fill(byte);
const path = (name: string) => join(dir, name);
const MARKER = path('payload-ran');

interface Attack {
  file: string;
  /** What the error must say; null: the file must convert. */
  expected: RegExp | null;
  /** Bound on the growth of the resident set while reading, MiB. */
  peakMiB: number;
}

/** Each attack class with its crafted file. */
function craft(): Attack[] {
  const attacks: Attack[] = [];
  const add = (file: string, expected: RegExp | null, peakMiB = 64) => attacks.push({ file, expected, peakMiB });

  // Opcode floods: 40 M one-byte EMPTY_LIST opcodes deflated into a 39 KB file (once: a 2.4 GB heap
  // and a 28 s run); stored beside enough storage to pass the size bound, 100,001 of them fill the
  // stack, and a million EMPTY_LIST POP pairs make a million containers.
  writeCraftedCheckpoint(path('flood-deflated.pth'), [w()], { 0: six }, { deflate: true, pickle: stateDictPickle([w()], fill(40_000_000, 0x5d)) });
  add('flood-deflated.pth', /data\.pkl has 40000\d+ bytes, more than the 1048600 a pickle may have here/);
  const big = w({ numel: 600_000 });
  writeCraftedCheckpoint(path('flood-stack.pth'), [big], { 0: new Uint8Array(2_400_000) }, { pickle: stateDictPickle([big], fill(100_001, 0x5d)) });
  add('flood-stack.pth', /more than 100000 values on the stack/);
  const pairs = new Uint8Array(2_000_002);
  for (let i = 0; i < pairs.length; i += 2) pairs.set([0x5d, 0x30], i);
  writeCraftedCheckpoint(path('flood-containers.pth'), [big], { 0: new Uint8Array(2_400_000) }, { pickle: stateDictPickle([big], pairs) });
  add('flood-containers.pth', /more than 1000000 lists, dicts, tuples and objects/, 256);

  // One LONG4 integer of 256 KB (once: quadratic, over a minute); deflated, the file is 16 KB.
  const long4 = bytes(0x8b, 0, 0, 4, 0, fill(262_144, 0x7f), 0x30);
  writeCraftedCheckpoint(path('long4.pth'), [w({ numel: 100_000 })], { 0: new Uint8Array(400_000) }, { pickle: stateDictPickle([w({ numel: 100_000 })], long4) });
  add('long4.pth', /an integer of 262144 bytes; at most 64 are read/);
  writeCraftedCheckpoint(path('long4-deflated.pth'), [w()], { 0: six }, { deflate: true, pickle: stateDictPickle([w()], long4) });
  add('long4-deflated.pth', /claim to inflate to \d+, more than 64 times as many/);

  // Stride 0: a 510-byte file whose one tensor repeats 24 bytes of storage (once: 2.1 GB and a 1 GB output).
  writeCraftedCheckpoint(path('stride0-huge.pth'), [w({ size: [16384, 16384], stride: [0, 0] })], { 0: six });
  add('stride0-huge.pth', /tensor "w" \[16384, 16384\] has 268435456 elements, more than the 6 of its storage/);
  writeCraftedCheckpoint(path('stride0.pth'), [w({ size: [2, 3], stride: [0, 1] })], { 0: six });
  add('stride0.pth', /tensor "w" \[2, 3\] has stride 0 in dimension 0/);
  writeCraftedCheckpoint(path('past-end.pth'), [w({ offset: 1 })], { 0: six });
  add('past-end.pth', /tensor "w" \[2, 3\] reaches element 6 of storage data\/"0", which holds 6/);

  // Many names over one storage (identical views), and overlapping views at every offset.
  const storage = randomBytes(100_000);
  const many = Array.from({ length: 3000 }, (_, i) => w({ name: `w${i}`, numel: 25_000, size: [25_000], stride: [1] }));
  writeCraftedCheckpoint(path('many-views.pth'), many, { 0: storage });
  add('many-views.pth', /the tensors hold 300000000 bytes, more than 2 times the 100000 bytes of the storages/);
  const overlapping = Array.from({ length: 3000 }, (_, i) => w({ name: `v${i}`, numel: 25_000, offset: i, size: [20_000], stride: [1] }));
  writeCraftedCheckpoint(path('overlapping-views.pth'), overlapping, { 0: storage }, { deflate: true });
  add('overlapping-views.pth', /more than 2 times the 100000 bytes/);

  // Records the pickle never names: a 256 MB record deflated to 250 KB is not inflated.
  writeCraftedCheckpoint(path('unreferenced.pth'), [w()], { 0: six, 999: new Uint8Array(2 ** 28) }, { deflate: true });
  add('unreferenced.pth', null);
  // A record it does name that inflates 1000-fold, and one whose directory lies about its size.
  writeCraftedCheckpoint(path('bomb.pth'), [w({ numel: 2 ** 26, size: [2 ** 26], stride: [1] })], { 0: new Uint8Array(2 ** 28) }, { deflate: true });
  add('bomb.pth', /deflated records of \d+ bytes claim to inflate to 2684\d+, more than 64 times as many \(a decompression bomb\?\)/);
  writeFileSync(path('lying-size.pth'), torchZip([{ name: 'data.pkl', data: stateDictPickle([w()]) }, { name: 'data/0', data: six, deflate: true, claimedSize: 0xfffffff0 }]));
  add('lying-size.pth', /claim to inflate to 4294967280/);
  writeFileSync(path('version.pth'), torchZip([{ name: 'data.pkl', data: stateDictPickle([w()]) }, { name: 'data/0', data: six }, { name: 'version', data: fill(100_000, 0x33) }]));
  add('version.pth', /the version record has 100000 bytes; at most 64 are read/);

  // Names and keys: a megabyte-long key, a key of ten thousand nested tuples, a value that holds itself.
  const longKey = 'k'.repeat(2 ** 20);
  const rootWith = (key: Uint8Array, value: Uint8Array = int(1)) => bytes(0x80, 2, 0x7d, key, value, 0x73, 0x2e);
  writeCraftedCheckpoint(path('long-key.pth'), [], { 0: new Uint8Array(2 ** 20) }, { pickle: rootWith(str(longKey)) });
  add('long-key.pth', /holds a dict \{"k{80}"\.\.\. \(1048496 more characters\): number\}, and no entry holds a dict of tensors/);
  writeCraftedCheckpoint(path('long-name.pth'), [w({ name: `w${'\u0007'.repeat(1000)}` })], { 0: six, 1: new Uint8Array(2000) }, { pickle: stateDictPickle([w({ name: `w${'\u0007'.repeat(1000)}`, offset: 5 })]) });
  add('long-name.pth', /tensor "w(\\u0007){33}"\.\.\. \(967 more characters\) \[2, 3\] reaches element/);
  writeCraftedCheckpoint(path('deep-key.pth'), [], { 0: six }, { pickle: rootWith(bytes(0x29, fill(10_000, 0x85))) });
  add('deep-key.pth', /a dict key nested deeper than 16 tuples/);
  writeCraftedCheckpoint(path('cyclic.pth'), [], { 0: six }, { pickle: rootWith(str('x'), bytes(0x5d, 0x71, 0, 0x68, 0, 0x61)) });
  add('cyclic.pth', /holds a dict \{"x": list of 1\}, and no entry holds a dict of tensors/);
  const deepValue = bytes(fill(50_000, 0x28), fill(50_000, 0x6c)); // [[[...]]] fifty thousand deep: MARK x N, LIST x N
  writeCraftedCheckpoint(path('deep-value.pth'), [], { 0: six }, { pickle: rootWith(str('x'), deepValue) });
  add('deep-value.pth', /holds a dict \{"x": list of 1\}/);

  // Code: os.system with a payload, a pickled module, eval by STACK_GLOBAL.
  writeCraftedCheckpoint(path('os-system.pth'), [], { 0: six }, { pickle: bytes(0x80, 2, global('os', 'system'), str(`touch ${MARKER}`), 0x85, 0x52, 0x2e) });
  add('os-system.pth', /data\.pkl: pickle byte 2: the global "os\.system" is not one a state dict holds/);
  writeCraftedCheckpoint(path('eval.pth'), [], { 0: six }, { pickle: bytes(0x80, 4, 0x8c, 8, 'builtins', 0x8c, 4, 'eval', 0x93, 0x8c, 1, '1', 0x85, 0x52, 0x2e) });
  add('eval.pth', /the global "builtins\.eval" is not one a state dict holds/);

  // Non-finite weights.
  writeCraftedCheckpoint(path('nan.pth'), [w(), w({ name: 'v', key: '1' })], { 0: six, 1: floats([1, Number.NaN, 3, Number.POSITIVE_INFINITY, 5, 6]) });
  add('nan.pth', /"v": holds 2 NaN or infinite values \(of 6\)/);

  // The control: a well-formed crafted file converts.
  writeCraftedCheckpoint(path('ok.pth'), [w(), w({ name: 'wt', size: [3, 2], stride: [1, 3] })], { 0: six });
  add('ok.pth', null);
  return attacks;
}

describe('untrusted checkpoints', () => {
  let attacks: Attack[];
  before(() => {
    attacks = craft();
  });

  it('each attack class is refused by its limit, in one bounded line naming the file, within its memory bound', async () => {
    const cases: ChildCase[] = attacks.map((a) => ({ id: a.file, action: 'convert', path: path(a.file), out: path(`${a.file}.safetensors`) }));
    const run = await runChild(cases, dir);
    assert.equal(run.outcomes.length, cases.length, describeRun(run, cases));
    assert.equal(run.code, 0, describeRun(run, cases));
    const rows: string[] = [];
    attacks.forEach((a, i) => {
      const o = run.outcomes[i]!;
      rows.push(`${a.file.padEnd(24)} ${String(statSync(path(a.file)).size).padStart(9)} B  ${String(o.ms).padStart(5)} ms  ${o.peakMiB.toFixed(1).padStart(6)} MiB  ${o.error ? o.error.message.slice(0, 90) : 'converted'}`);
      assert.equal(o.leaked, 0, `${a.file}: ${o.leaked} tensors left alive`);
      assert.ok(o.peakMiB < a.peakMiB, `${a.file}: the resident set grew by ${o.peakMiB} MiB, more than ${a.peakMiB}`);
      if (a.expected === null) {
        assert.equal(o.error, null, `${a.file}: ${o.error?.message}`);
        return;
      }
      assert.ok(o.error, `${a.file} was converted`);
      assert.equal(o.error.name, 'FormatError', `${a.file}: ${o.error.name}: ${o.error.message}`);
      assert.ok(o.error.message.startsWith(path(a.file)), `${a.file}: the error names the file: ${o.error.message}`);
      assert.ok(o.error.length < 1000, `${a.file}: an error of ${o.error.length} characters`);
      assert.match(o.error.message, a.expected, a.file);
    });
    if (process.env.MDPROP_SHOW_ATTACKS) console.log(rows.join('\n'));
    assert.equal(existsSync(MARKER), false, 'the os.system payload ran');
    assert.ok(statSync(path('unreferenced.pth.safetensors')).size < 1000);
  });
});
