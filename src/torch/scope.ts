// Memory scopes. tidy(fn) frees every tensor created inside fn except those it returns; scopes are
// synchronous by design (an async fn is refused), so an `await` can never interleave two scopes.
//
// Tensors report their memory to V8 so that garbage collection sees what an undisposed tensor
// holds. Inside a scope that report waits: the scope frees what it made, and reporting gigabytes
// of activations that live for milliseconds made V8 collect several times per training step
// (about 4% of a ResNet-50 MDProp step). What leaves the outermost scope, or is kept, is reported
// then.
import { native } from '../native/index.js';

export interface Owned {
  dispose(): void;
  /** Called when the object leaves every scope (returned from the outermost, or kept). */
  escaped?(): void;
  /** The scope that will free this object, or null when the caller owns it. */
  scope: Scope | null;
}

export class Scope {
  readonly owned = new Set<Owned>();
  track(obj: Owned): void {
    obj.scope = this;
    this.owned.add(obj);
  }
  release(obj: Owned): void {
    this.owned.delete(obj);
    obj.scope = null;
  }
}

const stack: Scope[] = [];

export function currentScope(): Scope | null {
  return stack.length ? stack[stack.length - 1]! : null;
}

/** Register a freshly created object with the innermost scope, if any. */
export function track<T extends Owned>(obj: T): T {
  const scope = currentScope();
  if (scope) scope.track(obj);
  return obj;
}

function isOwned(value: unknown): value is Owned {
  return typeof value === 'object' && value !== null && 'scope' in value && typeof (value as Owned).dispose === 'function';
}

/** Everything owned that a result holds: itself, array elements, plain-object fields (recursively). */
function collectOwned(value: unknown, out: Set<Owned>, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (isOwned(value)) {
    out.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collectOwned(v, out, seen);
  } else if (value instanceof Map) {
    for (const v of value.values()) collectOwned(v, out, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectOwned(v, out, seen);
  }
}

/** A new innermost scope; entering the outermost one holds back memory reports. */
function enterScope(): Scope {
  if (stack.length === 0) native.setMemoryAccounting(false);
  const scope = new Scope();
  stack.push(scope);
  return scope;
}

/** Leave the innermost scope; leaving the outermost one reports new tensors again. */
function leaveScope(): void {
  stack.pop();
  if (stack.length === 0) native.setMemoryAccounting(true);
}

/**
 * Run fn; free every tensor it created except those reachable from its result (through arrays,
 * Maps and plain objects), which move to the enclosing scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope = enterScope();
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) {
      throw new Error('tidy(fn): fn returned a Promise; scopes are synchronous, await outside tidy');
    }
  } catch (err) {
    leaveScope();
    for (const obj of scope.owned) obj.dispose();
    throw err;
  }
  leaveScope();
  const kept = new Set<Owned>();
  collectOwned(result, kept);
  const parent = currentScope();
  for (const obj of scope.owned) {
    if (kept.has(obj)) {
      scope.owned.delete(obj);
      obj.scope = null;
      if (parent) parent.track(obj);
      else obj.escaped?.();
    } else {
      obj.dispose();
    }
  }
  return result;
}

/** Take objects out of every scope: the caller now owns them and must dispose them. */
export function keep<T>(value: T): T {
  const found = new Set<Owned>();
  collectOwned(value, found);
  for (const obj of found) {
    if (obj.scope) {
      obj.scope.release(obj);
      obj.escaped?.();
    }
  }
  return value;
}

/** Dispose every tensor reachable from value (arrays, Maps, plain objects). */
export function dispose(value: unknown): void {
  const found = new Set<Owned>();
  collectOwned(value, found);
  for (const obj of found) obj.dispose();
}
