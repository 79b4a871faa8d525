// The pickle reader's bounds (PICKLE_LIMITS) on hand-assembled pickles: each hostile pickle is
// refused with a PickleError that names the limit, before it can grow the heap or keep the reader
// busy, and big integers are read exactly.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PICKLE_LIMITS, unpickle, type PickleValue } from '../../src/torch/pickle.js';
import { bytes, global } from '../helpers/crafted-torch.js';

const proto = bytes(0x80, 2);
const repeat = (unit: Uint8Array, n: number): Uint8Array => {
  const out = new Uint8Array(unit.length * n);
  for (let i = 0; i < n; i++) out.set(unit, i * unit.length);
  return out;
};
const le32 = (n: number) => bytes(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);

/** LONG1/LONG4 of little-endian two's-complement bytes. */
function longOp(data: Uint8Array): Uint8Array {
  return data.length < 256 ? bytes(0x8a, data.length, data) : bytes(0x8b, le32(data.length), data);
}

/** The value of little-endian two's-complement bytes, the slow and obvious way. */
function reference(data: Uint8Array): bigint {
  let v = 0n;
  for (let i = data.length - 1; i >= 0; i--) v = v * 256n + BigInt(data[i]!);
  return data.length && data[data.length - 1]! & 0x80 ? v - 2n ** BigInt(8 * data.length) : v;
}

describe('pickle limits', () => {
  it('refuses a flood of one-byte containers at the container limit', () => {
    const flood = bytes(proto, repeat(bytes(0x5d, 0x30), PICKLE_LIMITS.containers + 1), 0x4e, 0x2e); // EMPTY_LIST POP, ...
    assert.throws(() => unpickle(flood), /pickle byte \d+: more than 1000000 lists, dicts, tuples and objects/);
  });

  it('refuses more items than the item limit, and appends long lists without overflowing the call stack', () => {
    const appends = bytes(proto, 0x5d, 0x28, repeat(bytes(0x4e), 99_000), 0x65, 0x2e); // [None] * 99000 in one APPENDS
    assert.equal((unpickle(appends) as PickleValue[]).length, 99_000);
    const many = bytes(proto, 0x5d, repeat(bytes(0x4e, 0x61), PICKLE_LIMITS.items + 1), 0x2e); // APPEND one at a time
    assert.throws(() => unpickle(many), /more than 4000000 items/);
  });

  it('refuses a stack deeper than the stack limit', () => {
    assert.throws(() => unpickle(bytes(proto, repeat(bytes(0x4e), PICKLE_LIMITS.stack + 1), 0x2e)), /more than 100000 values on the stack/);
    assert.throws(() => unpickle(bytes(proto, repeat(bytes(0x28), PICKLE_LIMITS.stack + 1), 0x2e)), /more than 100000 values on the stack/);
  });

  it('refuses more memo entries than the memo limit', () => {
    const puts = new Uint8Array(5 * (PICKLE_LIMITS.memo + 1));
    for (let i = 0; i <= PICKLE_LIMITS.memo; i++) puts.set(bytes(0x72, le32(i)), 5 * i);
    assert.throws(() => unpickle(bytes(proto, 0x4e, puts, 0x2e)), /more than 1000000 memo entries/);
  });

  it('reads integers up to the byte limit exactly and refuses longer ones before reading them', () => {
    const samples = [bytes(0xff), bytes(0x00, 0x80), bytes(1, 2, 3, 4, 5, 6, 7, 8, 9), repeat(bytes(0xff), 64), bytes(...repeat(bytes(0x00), 63), 0x80), bytes(0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19)];
    for (const data of samples) {
      const v = unpickle(bytes(proto, longOp(data), 0x2e));
      const want = reference(data);
      assert.equal(typeof v === 'bigint' ? v : BigInt(v as number), want);
      if (want >= BigInt(Number.MIN_SAFE_INTEGER) && want <= BigInt(Number.MAX_SAFE_INTEGER)) assert.equal(typeof v, 'number');
    }
    assert.equal(unpickle(bytes(proto, longOp(bytes(0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19)), 0x2e)), 0x1950a86a20f9469cfc6cn);
    // 256 KB of LONG4: refused from its length, not parsed.
    assert.throws(() => unpickle(bytes(proto, longOp(repeat(bytes(0x7f), 256 * 1024)), 0x2e)), /an integer of 262144 bytes; at most 64 are read/);
    assert.throws(() => unpickle(bytes(proto, longOp(repeat(bytes(0x7f), 65)), 0x2e)), /an integer of 65 bytes/);
  });

  it('refuses strings and byte strings over the length limit from their length alone', () => {
    const big = PICKLE_LIMITS.stringBytes + 1;
    assert.throws(() => unpickle(bytes(proto, 0x58, le32(big), 0x2e)), /a string of 1048577 bytes; at most 1048576 are read/);
    assert.throws(() => unpickle(bytes(proto, 0x42, le32(big), 0x2e)), /a byte string of 1048577 bytes/);
    // BINBYTES8 claiming a terabyte: longer than the data, refused before any allocation.
    assert.throws(() => unpickle(bytes(proto, 0x8e, 0, 0, 0, 0, 0, 1, 0, 0, 0x2e)), /length 1099511627776 is longer than the data/);
    const ok = bytes(proto, 0x58, le32(PICKLE_LIMITS.stringBytes), repeat(bytes(0x61), PICKLE_LIMITS.stringBytes), 0x2e);
    assert.equal((unpickle(ok) as string).length, PICKLE_LIMITS.stringBytes);
  });

  it('refuses unhashable and deeply nested dict keys, and keeps cyclic values without recursing', () => {
    const dictWith = (key: Uint8Array) => bytes(proto, 0x7d, key, 0x4e, 0x73, 0x2e);
    assert.throws(() => unpickle(dictWith(bytes(0x5d))), /a list as a dict key \(unhashable in Python\)/);
    const deep = bytes(0x29, repeat(bytes(0x85), 10_000)); // ((((...),),),) ten thousand deep
    assert.throws(() => unpickle(dictWith(deep)), /a dict key nested deeper than 16 tuples/);
    // A list that holds itself (memo 0), as a dict value.
    const cyclic = unpickle(bytes(proto, 0x7d, 0x8c, 1, 'x', 0x5d, 0x71, 0, 0x68, 0, 0x61, 0x73, 0x2e)) as Map<PickleValue, PickleValue>;
    const list = cyclic.get('x') as PickleValue[];
    assert.equal(list[0], list);
  });

  it('refuses a global not listed, an unterminated name, a call the hook declines, and state for a list', () => {
    const longName = 'a'.repeat(300);
    assert.throws(() => unpickle(bytes(proto, 0x63, `${longName}\nb\n`, 0x2e), { globals: new Set([`${longName}.b`]) }), /no end of line within 256 bytes/);
    const hostile = `os\u0000\u001b[2J${'x'.repeat(240)}`;
    assert.throws(
      () => unpickle(bytes(proto, 0x8c, hostile.length, hostile, 0x8c, 6, 'system', 0x93, 0x2e)),
      (err: Error) => /the global "os\\u0000\\u001b\[2Jx+"\.\.\. \(\d+ more characters\) is not one a state dict holds/.test(err.message) && err.message.length < 600,
    );
    assert.throws(() => unpickle(bytes(proto, global('m', 'f'), 0x29, 0x52, 0x2e), { globals: new Set(['m.f']), reduce: () => undefined }), /calling "m\.f" is not supported/);
    assert.throws(() => unpickle(bytes(proto, 0x5d, 0x7d, 0x62, 0x2e)), /state for something that is neither a dict nor a tensor/);
  });

  it('refuses a pickle longer than its byte limit without reading past it', () => {
    const body = bytes(proto, 0x5d, repeat(bytes(0x4e, 0x61), 100), 0x2e);
    assert.throws(() => unpickle(body, { limits: { bytes: 64 } }), /reaches past 64 bytes, the most a pickle may have/);
    assert.equal((unpickle(body, { limits: { bytes: body.length } }) as PickleValue[]).length, 100);
  });
});
