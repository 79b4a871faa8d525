// A pickle reader for data, not code: it understands the opcodes of protocols 2-5 that torch.save
// emits and never runs anything. A global (module.name) is only a name; what calling one means is
// up to the caller's `reduce` hook, and anything it does not know becomes an inert PickleObject,
// so a checkpoint that also holds e.g. an argparse.Namespace still yields its tensors.

export interface PickleTuple {
  readonly kind: 'tuple';
  readonly items: readonly PickleValue[];
}
export interface PickleGlobal {
  readonly kind: 'global';
  readonly module: string;
  readonly name: string;
}
/** An instance of a class this reader does not construct: its type, arguments and state, kept inert. */
export interface PickleObject {
  readonly kind: 'object';
  readonly type: string;
  readonly args: PickleValue;
  state: PickleValue;
}
/** A value a hook made (e.g. a storage or a tensor description). */
export interface PickleExtension {
  readonly kind: 'extension';
  readonly value: unknown;
}
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | Map<PickleValue, PickleValue>
  | PickleTuple
  | PickleGlobal
  | PickleObject
  | PickleExtension;

export interface PickleHooks {
  /** Calling a global with arguments; undefined: not handled (an inert PickleObject results). */
  reduce?(callee: PickleGlobal, args: readonly PickleValue[]): PickleValue | undefined;
  /** BINPERSID: what a persistent id stands for (torch.save: a storage). */
  persistentLoad?(pid: PickleValue): PickleValue;
}

export class PickleError extends Error {
  override name = 'PickleError';
}

const MARK = Symbol('mark');
type Slot = PickleValue | typeof MARK;

/** Bounds no checkpoint comes near, so hostile bytes cannot make the reader hoard memory. */
const MAX_MEMO = 10_000_000;

export function isTuple(v: PickleValue): v is PickleTuple {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map) && !(v instanceof Uint8Array) && v.kind === 'tuple';
}

export function isGlobal(v: PickleValue): v is PickleGlobal {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map) && !(v instanceof Uint8Array) && v.kind === 'global';
}

/** Reads one pickled value from `bytes`. Throws PickleError naming the opcode and offset at fault. */
export function unpickle(bytes: Uint8Array, hooks: PickleHooks = {}): PickleValue {
  return unpickleAt(bytes, 0, hooks).value;
}

/** Reads the pickle that starts at byte `start`; `end` is the byte after its STOP (files may hold several in a row). */
export function unpickleAt(bytes: Uint8Array, start: number, hooks: PickleHooks = {}): { value: PickleValue; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = new TextDecoder('utf-8', { fatal: false });
  const latin1 = new TextDecoder('latin1');
  const stack: Slot[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PickleValue>();
  let pos = start;
  let opStart = start;

  const fail = (message: string): never => {
    throw new PickleError(`pickle byte ${opStart}: ${message}`);
  };
  const need = (n: number): number => {
    if (n < 0 || pos + n > bytes.length) fail(`needs ${n} more bytes; the data ends at byte ${bytes.length} (truncated?)`);
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = () => bytes[need(1)]!;
  const u16 = () => view.getUint16(need(2), true);
  const i32 = () => view.getInt32(need(4), true);
  const u32 = () => view.getUint32(need(4), true);
  const u64 = (): number => {
    const big = view.getBigUint64(need(8), true);
    if (big > BigInt(bytes.length)) fail(`length ${big} is longer than the data`);
    return Number(big);
  };
  const slice = (n: number) => bytes.subarray(need(n), pos);
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('a text argument has no end of line');
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): PickleValue => {
    const v = stack.pop();
    if (v === undefined) fail('the stack is empty');
    if (v === MARK) fail('a mark where a value was expected');
    return v as PickleValue;
  };
  const top = (): PickleValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) fail('no value on the stack');
    return v as PickleValue;
  };
  const popMark = (): PickleValue[] => {
    const at = marks.pop();
    if (at === undefined) fail('no mark on the stack');
    const items = stack.splice(at!) as Slot[];
    items.shift(); // the mark itself
    return items as PickleValue[];
  };
  const put = (key: number) => {
    if (memo.size >= MAX_MEMO && !memo.has(key)) fail('too many memo entries');
    memo.set(key, top());
  };
  const get = (key: number) => {
    if (!memo.has(key)) fail(`memo entry ${key} was never stored`);
    stack.push(memo.get(key)!);
  };
  const long = (n: number): number | bigint => {
    if (n === 0) return 0;
    const b = slice(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const setItems = (target: PickleValue, items: PickleValue[]) => {
    if (items.length % 2 !== 0) fail('an odd number of items for a dict');
    if (!(target instanceof Map)) {
      // Items of an object we keep inert (e.g. a dict subclass): stored as its state.
      if (typeof target === 'object' && target !== null && !Array.isArray(target) && !(target instanceof Uint8Array) && target.kind === 'object') {
        const state = target.state instanceof Map ? target.state : new Map<PickleValue, PickleValue>();
        for (let i = 0; i < items.length; i += 2) state.set(items[i]!, items[i + 1]!);
        target.state = state;
        return;
      }
      fail('dict items for something that is not a dict');
    }
    const dict = target as Map<PickleValue, PickleValue>;
    for (let i = 0; i < items.length; i += 2) dict.set(items[i]!, items[i + 1]!);
  };
  const append = (target: PickleValue, items: PickleValue[]) => {
    if (!Array.isArray(target)) fail('list items for something that is not a list');
    (target as PickleValue[]).push(...items);
  };
  const call = (callee: PickleValue, args: PickleValue): PickleValue => {
    if (!isGlobal(callee)) fail('a call of something that is not a global');
    const g = callee as PickleGlobal;
    const list = isTuple(args) ? args.items : [args];
    if (g.module === 'collections' && g.name === 'OrderedDict') {
      return new Map<PickleValue, PickleValue>();
    }
    const made = hooks.reduce?.(g, list);
    return made === undefined ? { kind: 'object', type: `${g.module}.${g.name}`, args, state: null } : made;
  };

  for (;;) {
    opStart = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('pickle protocol above 5');
        break;
      case 0x95: // FRAME: a length hint only
        need(8);
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) fail(`${stack.length} values left on the stack at the end`);
        return { value: pop(), end: pos };
      case 0x28: // MARK
        marks.push(stack.length);
        stack.push(MARK);
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(long(u8()));
        break;
      case 0x8b: // LONG4
        stack.push(long(u32()));
        break;
      case 0x47: // BINFLOAT (big-endian)
        stack.push(view.getFloat64(need(8), false));
        break;
      case 0x58: // BINUNICODE
        stack.push(text.decode(slice(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text.decode(slice(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text.decode(slice(u64())));
        break;
      case 0x54: // BINSTRING
        stack.push(latin1.decode(slice(i32())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1.decode(slice(u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(slice(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(slice(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(slice(u64()).slice());
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push({ kind: 'tuple', items: [] });
        break;
      case 0x74: // TUPLE
        stack.push({ kind: 'tuple', items: popMark() });
        break;
      case 0x85: // TUPLE1
        stack.push({ kind: 'tuple', items: [pop()] });
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        stack.push({ kind: 'tuple', items: [pop(), b] });
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        stack.push({ kind: 'tuple', items: [pop(), b, c] });
        break;
      }
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x64: { // DICT
        const dict = new Map<PickleValue, PickleValue>();
        setItems(dict, popMark());
        stack.push(dict);
        break;
      }
      case 0x71: // BINPUT
        put(u8());
        break;
      case 0x72: // LONG_BINPUT
        put(u32());
        break;
      case 0x94: // MEMOIZE
        put(memo.size);
        break;
      case 0x68: // BINGET
        get(u8());
        break;
      case 0x6a: // LONG_BINGET
        get(u32());
        break;
      case 0x63: { // GLOBAL
        const module = line();
        stack.push({ kind: 'global', module, name: line() });
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push({ kind: 'global', module: module as string, name: name as string });
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x81: { // NEWOBJ: cls.__new__(cls, *args)
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x62: { // BUILD: state for the object below; dicts (an OrderedDict's _metadata) ignore it
        const state = pop();
        const target = top();
        if (typeof target === 'object' && target !== null && !Array.isArray(target) && !(target instanceof Map) && !(target instanceof Uint8Array) && target.kind === 'object') {
          target.state = state;
        }
        break;
      }
      case 0x73: { // SETITEM
        const value = pop();
        const key = pop();
        setItems(top(), [key, value]);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: { // APPEND
        const value = pop();
        append(top(), [value]);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!hooks.persistentLoad) fail('a persistent id, but no loader for it');
        stack.push(hooks.persistentLoad!(pid));
        break;
      }
      case 0x30: // POP
        pop();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      default:
        fail(`opcode 0x${op.toString(16).padStart(2, '0')} is not supported`);
    }
  }
}
