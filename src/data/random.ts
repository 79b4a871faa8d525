// The project's one seeded random generator: xoshiro128** over four 32-bit words.
// Streams are derived from (seed, key, key, ...) by hashing, so a consumer that needs the
// randomness of "epoch 3, batch 17, sample 5" gets it directly, independent of the order in
// which asynchronous work finishes, and a resumed run needs no saved generator state.

/** The four state words of a generator; plain numbers so the state can go into JSON. */
export type RandomState = readonly [number, number, number, number];

/** A key that names an independent stream: a number (integer part is used) or a string. */
export type StreamKey = number | string;

const TWO_POW_32 = 4294967296;

export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** A generator for `seed`, optionally narrowed to the stream named by `keys`. */
  constructor(seed: number, ...keys: StreamKey[]) {
    let h = mix32(hashNumber(0x9e3779b9, seed));
    for (const key of keys) h = mix32(typeof key === 'string' ? hashString(h, key) : hashNumber(h, key));
    // Expand the 32-bit hash into four words with splitmix32 so no state word is zero together.
    let x = h;
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      return mix32(x);
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A generator that continues exactly from a saved state. */
  static fromState(state: RandomState): Random {
    const r = new Random(0);
    r.setState(state);
    return r;
  }

  state(): RandomState {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
  }

  setState(state: RandomState): void {
    if (state.length !== 4 || state.some((w) => !Number.isInteger(w) || w < 0 || w >= TWO_POW_32)) {
      throw new Error(`invalid random state ${JSON.stringify(state)}: expected four 32-bit unsigned integers`);
    }
    if (state.every((w) => w === 0)) throw new Error('invalid random state: all words are zero');
    [this.s0, this.s1, this.s2, this.s3] = [state[0] | 0, state[1] | 0, state[2] | 0, state[3] | 0];
  }

  /** An unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9);
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result >>> 0;
  }

  /** A float in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** An integer in [0, n), without modulo bias. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > TWO_POW_32) throw new RangeError(`Random.int: bad bound ${n}`);
    // Reject the top partial block of 2^32 so that every residue is equally likely.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** True with probability p. */
  bool(p = 0.5): boolean {
    return this.next() < p;
  }

  /** Shuffles in place (Fisher-Yates) and returns the same array. */
  shuffle<A extends Int32Array | unknown[]>(items: A): A {
    const a = items as { length: number; [i: number]: unknown };
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = a[i];
      a[i] = a[j];
      a[j] = tmp;
    }
    return items;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** murmur3's 32-bit finalizer: every input bit affects every output bit. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function combine(h: number, word: number): number {
  return mix32((Math.imul(h ^ word, 0x01000193) + 0x7f4a7c15) | 0);
}

/** Hashes an integer of up to 53 bits (both halves), so large seeds stay distinct. */
function hashNumber(h: number, value: number): number {
  if (!Number.isFinite(value)) throw new RangeError(`random seed or key must be finite, got ${value}`);
  const v = Math.trunc(value);
  const negative = v < 0 ? 1 : 0;
  const abs = Math.abs(v);
  const lo = abs % TWO_POW_32;
  const hi = Math.floor(abs / TWO_POW_32);
  return combine(combine(combine(h, lo), hi), negative);
}

function hashString(h: number, s: string): number {
  h = combine(h, 0x5bd1e995 ^ s.length);
  for (let i = 0; i < s.length; i++) h = combine(h, s.charCodeAt(i));
  return h;
}
