// Calling aten operators by name. An OpRef resolves its dispatcher id once; arguments are passed
// positionally in schema order, `undefined` taking the schema default.
import { native, type NativeHandle, type NativeValue } from '../native/index.js';

export class OpRef {
  #id = -1;
  constructor(
    readonly name: string,
    readonly overload: string,
  ) {}
  get id(): number {
    if (this.#id < 0) this.#id = native.opHandle(this.name, this.overload);
    return this.#id;
  }
  /** The operator's schema, e.g. for error messages and documentation. */
  get schema(): string {
    return native.opSchema(this.id);
  }
}

const cache = new Map<string, OpRef>();

/** An aten operator, e.g. op('add', 'Tensor'); the `aten::` prefix is implied. */
export function op(name: string, overload = ''): OpRef {
  const key = `${name}.${overload}`;
  let ref = cache.get(key);
  if (!ref) {
    ref = new OpRef(name.includes('::') ? name : `aten::${name}`, overload);
    cache.set(key, ref);
  }
  return ref;
}

/** Anything that can stand for a tensor argument (a Tensor exposes its handle this way). */
export interface HasHandle {
  readonly handle: NativeHandle;
}

export type OpArg = HasHandle | number | boolean | string | null | undefined | readonly (HasHandle | number | boolean | null)[];

function toNativeArg(a: OpArg): unknown {
  if (a === null || a === undefined || typeof a !== 'object') return a;
  if (Array.isArray(a)) return a.map((x) => (x !== null && typeof x === 'object' ? (x as HasHandle).handle : x));
  return (a as HasHandle).handle;
}

let calls = 0;

/** Operator calls made so far by this process: a measure of per-call overhead, e.g. per step. */
export function opCallCount(): number {
  return calls;
}

export function callNative(ref: OpRef, args: readonly OpArg[]): NativeValue {
  calls += 1;
  const converted = new Array<unknown>(args.length);
  for (let i = 0; i < args.length; i++) converted[i] = toNativeArg(args[i]!);
  return native.callOp(ref.id, converted);
}
