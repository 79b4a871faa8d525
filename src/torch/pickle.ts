// A pickle reader for data, not code: it understands the opcodes of protocols 2-5 that torch.save
// emits and never runs anything. It is as strict as PyTorch's `weights_only` loading: a global
// (module.name) is only a name, allowed when the caller lists it, and what calling one means is up
// to the caller's `reduce` hook; anything else is refused. The work a pickle may ask for is
// bounded (PICKLE_LIMITS): its length, the stack, the containers and items it builds, the memo,
// and the length of each integer, string and byte string, so a few hostile kilobytes can neither
// exhaust the heap nor keep the reader busy.
import { quote } from './bounded-text.js';

export interface PickleTuple {
  readonly kind: 'tuple';
  readonly items: readonly PickleValue[];
}
export interface PickleGlobal {
  readonly kind: 'global';
  readonly module: string;
  readonly name: string;
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
  | PickleExtension;

export interface PickleHooks {
  /** Calling an allowed global with arguments; undefined: the call is refused. */
  reduce?(callee: PickleGlobal, args: readonly PickleValue[]): PickleValue | undefined;
  /** BINPERSID: what a persistent id stands for (torch.save: a storage). */
  persistentLoad?(pid: PickleValue): PickleValue;
}

/** Bounds on the work one pickle may ask for. */
export interface PickleLimits {
  /** Bytes of the pickle itself. */
  readonly bytes: number;
  /** Values and marks on the stack at once. */
  readonly stack: number;
  /** Lists, dicts, tuples, globals and hook-made values built. */
  readonly containers: number;
  /** Items put into lists, dicts and tuples, all together. */
  readonly items: number;
  readonly memo: number;
  /** Bytes of one LONG1/LONG4 integer. */
  readonly longBytes: number;
  /** Bytes of one string or byte string. */
  readonly stringBytes: number;
  /** Bytes of one module or class name of a GLOBAL. */
  readonly nameBytes: number;
  /** Nesting of the tuples that make a dict key. */
  readonly keyDepth: number;
}

/**
 * Far above any state dict: ResNet-50's pickle is about 30 KB, with some 2,000 containers and
 * 7,000 items; a checkpoint with optimizer state for 100,000 tensors stays below a tenth of these.
 * At these bounds the reader holds at most a few hundred megabytes.
 */
export const PICKLE_LIMITS: PickleLimits = {
  bytes: 64 * 2 ** 20,
  stack: 100_000,
  containers: 1_000_000,
  items: 4_000_000,
  memo: 1_000_000,
  longBytes: 64,
  stringBytes: 2 ** 20,
  nameBytes: 256,
  keyDepth: 16,
};

export interface PickleOptions extends PickleHooks {
  /** `module.name` of each global the pickle may name; every other global is refused. */
  globals?: ReadonlySet<string>;
  limits?: Partial<PickleLimits>;
}

export class PickleError extends Error {
  override name = 'PickleError';
}

const MARK = Symbol('mark');
type Slot = PickleValue | typeof MARK;

function isKind<K extends string>(v: PickleValue, kind: K): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map) && !(v instanceof Uint8Array) && v.kind === kind;
}

export function isTuple(v: PickleValue): v is PickleTuple {
  return isKind(v, 'tuple');
}

export function isGlobal(v: PickleValue): v is PickleGlobal {
  return isKind(v, 'global');
}

export function isExtension(v: PickleValue): v is PickleExtension {
  return isKind(v, 'extension');
}

/** Reads one pickled value from `bytes`. Throws PickleError naming the opcode and offset at fault. */
export function unpickle(bytes: Uint8Array, options: PickleOptions = {}): PickleValue {
  return unpickleAt(bytes, 0, options).value;
}

/** Reads the pickle that starts at byte `start`; `end` is the byte after its STOP (files may hold several in a row). */
export function unpickleAt(bytes: Uint8Array, start: number, options: PickleOptions = {}): { value: PickleValue; end: number } {
  const limits: PickleLimits = { ...PICKLE_LIMITS, ...options.limits };
  const globals = options.globals ?? new Set<string>();
  // A pickle is read up to its STOP; the bytes beyond the limit are never looked at.
  const end = Math.min(bytes.length, start + limits.bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = new TextDecoder('utf-8', { fatal: false });
  const latin1 = new TextDecoder('latin1');
  const stack: Slot[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PickleValue>();
  let containers = 0;
  let items = 0;
  let pos = start;
  let opStart = start;

  const fail = (message: string): never => {
    throw new PickleError(`pickle byte ${opStart}: ${message}`);
  };
  const need = (n: number): number => {
    if (n < 0 || pos + n > end) {
      if (end < bytes.length) fail(`reaches past ${limits.bytes} bytes, the most a pickle may have`);
      fail(`needs ${n} more bytes; the data ends at byte ${end} (truncated?)`);
    }
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
    return big > BigInt(end - pos) ? fail(`length ${big} is longer than the data`) : Number(big);
  };
  const sized = (n: number, max: number, what: string): Uint8Array => {
    if (n > max) fail(`a ${what} of ${n} bytes; at most ${max} are read`);
    return bytes.subarray(need(n), pos);
  };
  const line = (): string => {
    const stop = bytes.subarray(pos, Math.min(end, pos + limits.nameBytes + 1)).indexOf(0x0a);
    if (stop < 0) fail(`a name of a GLOBAL has no end of line within ${limits.nameBytes} bytes`);
    const s = latin1.decode(bytes.subarray(pos, pos + stop));
    pos += stop + 1;
    return s;
  };
  const made = <V extends PickleValue>(v: V): V => {
    if (++containers > limits.containers) fail(`more than ${limits.containers} lists, dicts, tuples and objects; no state dict needs as many`);
    return v;
  };
  const added = (n: number) => {
    items += n;
    if (items > limits.items) fail(`more than ${limits.items} items in lists, dicts and tuples; no state dict needs as many`);
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
    const popped = stack.splice(at!) as Slot[];
    popped.shift(); // the mark itself
    return popped as PickleValue[];
  };
  const tuple = (values: PickleValue[]): PickleTuple => {
    added(values.length);
    return made({ kind: 'tuple', items: values });
  };
  const put = (key: number) => {
    if (memo.size >= limits.memo && !memo.has(key)) fail(`more than ${limits.memo} memo entries`);
    memo.set(key, top());
  };
  const get = (key: number) => {
    if (!memo.has(key)) fail(`memo entry ${key} was never stored`);
    stack.push(memo.get(key)!);
  };
  const long = (n: number): number | bigint => {
    if (n > limits.longBytes) fail(`an integer of ${n} bytes; at most ${limits.longBytes} are read`);
    if (n === 0) return 0;
    const b = bytes.subarray(need(n), pos);
    // Through hex text: linear in n, where shifting a BigInt byte by byte is quadratic.
    let v = BigInt(`0x${Buffer.from(b).reverse().toString('hex')}`);
    if (b[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  // Python only hashes immutable values: a key is a scalar, a string, bytes or a tuple of keys.
  const checkKey = (key: PickleValue, depth = 0): void => {
    if (key === null || typeof key !== 'object' || key instanceof Uint8Array || isGlobal(key) || isExtension(key)) return;
    if (!isTuple(key)) fail(`a ${Array.isArray(key) ? 'list' : 'dict'} as a dict key (unhashable in Python)`);
    if (depth >= limits.keyDepth) fail(`a dict key nested deeper than ${limits.keyDepth} tuples`);
    for (const item of (key as PickleTuple).items) checkKey(item, depth + 1);
  };
  const setItems = (target: PickleValue, values: PickleValue[]) => {
    if (values.length % 2 !== 0) fail('an odd number of items for a dict');
    if (!(target instanceof Map)) fail('dict items for something that is not a dict');
    added(values.length / 2);
    const dict = target as Map<PickleValue, PickleValue>;
    for (let i = 0; i < values.length; i += 2) {
      checkKey(values[i]!);
      dict.set(values[i]!, values[i + 1]!);
    }
  };
  const append = (target: PickleValue, values: PickleValue[]) => {
    if (!Array.isArray(target)) fail('list items for something that is not a list');
    added(values.length);
    // One at a time: spreading a long list into push() overflows the call stack.
    for (const v of values) (target as PickleValue[]).push(v);
  };
  const globalNamed = (module: string, name: string): PickleGlobal => {
    const full = `${module}.${name}`;
    if (!globals.has(full)) fail(`the global ${quote(full)} is not one a state dict holds; only tensors in dicts, lists and tuples of numbers and strings are read (save the model's state_dict() alone)`);
    return made({ kind: 'global', module, name });
  };
  const call = (callee: PickleValue, args: PickleValue): PickleValue => {
    if (!isGlobal(callee)) fail('a call of something that is not a global');
    const g = callee as PickleGlobal;
    const list = isTuple(args) ? args.items : [args];
    if (g.module === 'collections' && g.name === 'OrderedDict' && list.length === 0) return made(new Map<PickleValue, PickleValue>());
    const result = options.reduce?.(g, list);
    if (result === undefined) fail(`calling ${quote(`${g.module}.${g.name}`)} is not supported`);
    return made(result as PickleValue);
  };

  for (;;) {
    opStart = pos;
    if (stack.length > limits.stack) fail(`more than ${limits.stack} values on the stack`);
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
        stack.push(text.decode(sized(u32(), limits.stringBytes, 'string')));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text.decode(sized(u8(), limits.stringBytes, 'string')));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text.decode(sized(u64(), limits.stringBytes, 'string')));
        break;
      case 0x54: { // BINSTRING
        const n = i32();
        stack.push(latin1.decode(sized(n < 0 ? fail('a string of negative length') : n, limits.stringBytes, 'string')));
        break;
      }
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1.decode(sized(u8(), limits.stringBytes, 'string')));
        break;
      case 0x42: // BINBYTES
        stack.push(sized(u32(), limits.stringBytes, 'byte string').slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(sized(u8(), limits.stringBytes, 'byte string').slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(sized(u64(), limits.stringBytes, 'byte string').slice());
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(made(new Map()));
        break;
      case 0x5d: // EMPTY_LIST
        stack.push(made([]));
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(tuple([]));
        break;
      case 0x74: // TUPLE
        stack.push(tuple(popMark()));
        break;
      case 0x85: // TUPLE1
        stack.push(tuple([pop()]));
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        stack.push(tuple([pop(), b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(tuple([pop(), b, c]));
        break;
      }
      case 0x6c: { // LIST
        const list = made([] as PickleValue[]);
        append(list, popMark());
        stack.push(list);
        break;
      }
      case 0x64: { // DICT
        const dict = made(new Map<PickleValue, PickleValue>());
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
        stack.push(globalNamed(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(globalNamed(module as string, name as string));
        break;
      }
      case 0x52: // REDUCE
      case 0x81: { // NEWOBJ: cls.__new__(cls, *args)
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x62: { // BUILD: state for the value below; a dict's (an OrderedDict's _metadata) or a tensor's is not needed
        pop();
        const target = top();
        if (!(target instanceof Map) && !isExtension(target)) fail('state for something that is neither a dict nor a tensor');
        break;
      }
      case 0x73: { // SETITEM
        const value = pop();
        const key = pop();
        setItems(top(), [key, value]);
        break;
      }
      case 0x75: { // SETITEMS
        const values = popMark();
        setItems(top(), values);
        break;
      }
      case 0x61: { // APPEND
        const value = pop();
        append(top(), [value]);
        break;
      }
      case 0x65: { // APPENDS
        const values = popMark();
        append(top(), values);
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!options.persistentLoad) fail('a persistent id, but no loader for it');
        stack.push(made(options.persistentLoad!(pid)));
        break;
      }
      case 0x30: // POP
        if (stack[stack.length - 1] === MARK) popMark();
        else pop();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      default:
        fail(`opcode 0x${op.toString(16).padStart(2, '0')} is not one torch.save writes for a state dict`);
    }
  }
}
