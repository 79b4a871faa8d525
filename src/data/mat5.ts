// A small reader for MATLAB level-5 MAT-files (the format of `save -v7`/`-v6`, and of Stanford
// Cars' cars_annos.mat). It reads what annotation files use: numeric and logical arrays, char
// arrays, cell arrays and struct arrays, compressed (zlib) or not, either byte order. Sparse
// arrays, objects and v7.3 (HDF5) files are rejected with a clear message.
import { inflateSync } from 'node:zlib';

export type MatValue = MatNumeric | MatChar | MatCell | MatStruct;

export interface MatNumeric {
  readonly type: 'numeric';
  /** MATLAB class: double, single, int8, ..., uint64, or logical. */
  readonly matClass: string;
  readonly dims: readonly number[];
  /** Real part, column-major, converted to doubles. */
  readonly data: Float64Array;
  readonly imag?: Float64Array;
}

export interface MatChar {
  readonly type: 'char';
  readonly dims: readonly number[];
  /** One string per row (a 1xN char array is one row). */
  readonly rows: readonly string[];
}

export interface MatCell {
  readonly type: 'cell';
  readonly dims: readonly number[];
  /** Column-major. */
  readonly cells: readonly MatValue[];
}

export interface MatStruct {
  readonly type: 'struct';
  readonly dims: readonly number[];
  readonly fieldNames: readonly string[];
  /** Column-major; each element maps every field name to its value. */
  readonly elements: readonly ReadonlyMap<string, MatValue>[];
}

// Data element types (the "mi" codes of the format).
const MI = {
  INT8: 1, UINT8: 2, INT16: 3, UINT16: 4, INT32: 5, UINT32: 6, SINGLE: 7, DOUBLE: 9,
  INT64: 12, UINT64: 13, MATRIX: 14, COMPRESSED: 15, UTF8: 16, UTF16: 17, UTF32: 18,
} as const;

/** Bytes per value of each numeric storage type. */
const NUMERIC_SIZES: Record<number, number> = {
  [MI.INT8]: 1, [MI.UINT8]: 1, [MI.INT16]: 2, [MI.UINT16]: 2, [MI.INT32]: 4, [MI.UINT32]: 4,
  [MI.SINGLE]: 4, [MI.DOUBLE]: 8, [MI.INT64]: 8, [MI.UINT64]: 8,
};

// Array classes (the "mx" codes) stored in the array-flags sub-element.
const MX_NAMES: Record<number, string> = {
  1: 'cell', 2: 'struct', 3: 'object', 4: 'char', 5: 'sparse', 6: 'double', 7: 'single',
  8: 'int8', 9: 'uint8', 10: 'int16', 11: 'uint16', 12: 'int32', 13: 'uint32', 14: 'int64', 15: 'uint64',
};

const FLAG_COMPLEX = 0x0800;
const FLAG_LOGICAL = 0x0200;

export class MatFormatError extends Error {
  override name = 'MatFormatError';
}

/** Reads every named variable of a MAT v5 file. */
export function readMat5(bytes: Uint8Array): Map<string, MatValue> {
  if (bytes.length < 128) throw new MatFormatError('not a MAT-file: shorter than the 128-byte header');
  const headerText = new TextDecoder('latin1').decode(bytes.subarray(0, 116));
  if (headerText.startsWith('MATLAB 7.3')) {
    throw new MatFormatError('MAT v7.3 (HDF5) files are not supported; save with -v7');
  }
  const endian = String.fromCharCode(bytes[126] ?? 0, bytes[127] ?? 0);
  if (endian !== 'IM' && endian !== 'MI') throw new MatFormatError('not a MAT v5 file: no endian indicator in the header');
  const reader = new ElementReader(bytes, endian === 'IM');
  const variables = new Map<string, MatValue>();
  let offset = 128;
  while (offset + 8 <= bytes.length) {
    const element = reader.tag(offset);
    offset = element.next;
    for (const [name, value] of reader.topLevel(element)) variables.set(name, value);
  }
  return variables;
}

interface Element {
  readonly type: number;
  readonly start: number;
  readonly length: number;
  /** Offset of the element after this one. */
  readonly next: number;
}

class ElementReader {
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly little: boolean,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** The tag at `offset`, in the normal (8-byte) or small (4-byte, data inline) format. */
  tag(offset: number): Element {
    if (offset + 8 > this.bytes.length) throw new MatFormatError(`truncated element tag at byte ${offset}`);
    const first = this.view.getUint32(offset, this.little);
    const small = first >>> 16;
    if (small !== 0) {
      return { type: first & 0xffff, start: offset + 4, length: small, next: offset + 8 };
    }
    const type = first;
    const length = this.view.getUint32(offset + 4, this.little);
    const start = offset + 8;
    if (start + length > this.bytes.length) throw new MatFormatError(`truncated element at byte ${offset}`);
    // Compressed elements are not padded; all others end on an 8-byte boundary.
    const next = type === MI.COMPRESSED ? start + length : start + Math.ceil(length / 8) * 8;
    return { type, start, length, next };
  }

  /** Named variables held by a top-level element (a matrix, or a compressed matrix). */
  *topLevel(element: Element): Generator<[string, MatValue]> {
    if (element.type === MI.COMPRESSED) {
      const inflated = inflateSync(this.bytes.subarray(element.start, element.start + element.length));
      const inner = new ElementReader(new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.byteLength), this.little);
      let offset = 0;
      while (offset + 8 <= inflated.length) {
        const child = inner.tag(offset);
        offset = child.next;
        yield* inner.topLevel(child);
      }
    } else if (element.type === MI.MATRIX) {
      const { name, value } = this.matrix(element);
      yield [name, value];
    }
    // Other top-level elements (e.g. subsystem data) carry no variables we read.
  }

  /** Parses an miMATRIX element: flags, dimensions, name, then the class-specific parts. */
  matrix(element: Element): { name: string; value: MatValue } {
    if (element.type !== MI.MATRIX) throw new MatFormatError(`expected a matrix element, found type ${element.type}`);
    const end = element.start + element.length;
    if (element.length === 0) return { name: '', value: { type: 'numeric', matClass: 'double', dims: [0, 0], data: new Float64Array(0) } };
    let offset = element.start;
    const next = (): Element => {
      if (offset >= end) throw new MatFormatError('matrix element ends early');
      const e = this.tag(offset);
      offset = e.next;
      return e;
    };
    const flags = this.numbers(next());
    const flagWord = flags[0] ?? 0;
    const mxClass = flagWord & 0xff;
    const dims = Array.from(this.numbers(next()));
    const name = this.text(next());
    const count = dims.reduce((a, b) => a * b, 1);
    const className = MX_NAMES[mxClass];
    switch (className) {
      case 'cell': {
        const cells: MatValue[] = [];
        for (let i = 0; i < count; i++) cells.push(this.matrix(next()).value);
        return { name, value: { type: 'cell', dims, cells } };
      }
      case 'struct': {
        const nameLength = this.numbers(next())[0] ?? 0;
        const namesElement = next();
        const fieldNames: string[] = [];
        for (let p = 0; nameLength > 0 && p + nameLength <= namesElement.length; p += nameLength) {
          const raw = this.bytes.subarray(namesElement.start + p, namesElement.start + p + nameLength);
          const zero = raw.indexOf(0);
          fieldNames.push(new TextDecoder('latin1').decode(zero < 0 ? raw : raw.subarray(0, zero)));
        }
        const elements: Map<string, MatValue>[] = [];
        for (let i = 0; i < count; i++) {
          const fields = new Map<string, MatValue>();
          for (const field of fieldNames) fields.set(field, this.matrix(next()).value);
          elements.push(fields);
        }
        return { name, value: { type: 'struct', dims, fieldNames, elements } };
      }
      case 'char': {
        const codes = this.charCodes(next(), count);
        const rowCount = dims[0] ?? 0;
        const rows: string[] = [];
        for (let r = 0; r < rowCount; r++) {
          let row = '';
          for (let c = r; c < codes.length; c += rowCount) row += String.fromCodePoint(codes[c] ?? 0);
          rows.push(row);
        }
        return { name, value: { type: 'char', dims, rows } };
      }
      case undefined:
      case 'object':
      case 'sparse':
        throw new MatFormatError(`variable "${name}": MATLAB class ${className ?? mxClass} is not supported`);
      default: {
        const data = this.numbers(next());
        const imag = flagWord & FLAG_COMPLEX ? this.numbers(next()) : undefined;
        if (data.length !== count) throw new MatFormatError(`variable "${name}": ${data.length} values for ${count} elements`);
        const matClass = flagWord & FLAG_LOGICAL ? 'logical' : className;
        return { name, value: imag ? { type: 'numeric', matClass, dims, data, imag } : { type: 'numeric', matClass, dims, data } };
      }
    }
  }

  /** The values of a numeric data element as doubles, whatever its storage type. */
  numbers(e: Element): Float64Array {
    const size = NUMERIC_SIZES[e.type];
    if (size === undefined) throw new MatFormatError(`expected numeric data, found element type ${e.type}`);
    const n = Math.floor(e.length / size);
    const out = new Float64Array(n);
    const v = this.view;
    const le = this.little;
    for (let i = 0, p = e.start; i < n; i++, p += size) {
      switch (e.type) {
        case MI.INT8: out[i] = v.getInt8(p); break;
        case MI.UINT8: out[i] = v.getUint8(p); break;
        case MI.INT16: out[i] = v.getInt16(p, le); break;
        case MI.UINT16: out[i] = v.getUint16(p, le); break;
        case MI.INT32: out[i] = v.getInt32(p, le); break;
        case MI.UINT32: out[i] = v.getUint32(p, le); break;
        case MI.SINGLE: out[i] = v.getFloat32(p, le); break;
        case MI.DOUBLE: out[i] = v.getFloat64(p, le); break;
        case MI.INT64: out[i] = Number(v.getBigInt64(p, le)); break;
        case MI.UINT64: out[i] = Number(v.getBigUint64(p, le)); break;
      }
    }
    return out;
  }

  /** Character codes of a char array, stored as UTF-8/16/32 text or as integers (usually uint16). */
  private charCodes(e: Element, count: number): number[] {
    const raw = this.bytes.subarray(e.start, e.start + e.length);
    if (e.type === MI.UTF8) return Array.from(new TextDecoder('utf-8').decode(raw), (ch) => ch.codePointAt(0) ?? 0);
    if (e.type === MI.UTF16) {
      const text = new TextDecoder(this.little ? 'utf-16le' : 'utf-16be').decode(raw);
      return Array.from(text, (ch) => ch.codePointAt(0) ?? 0);
    }
    const codes = Array.from(this.numbers(e.type === MI.UTF32 ? { ...e, type: MI.UINT32 } : e));
    return codes.length === count ? codes : codes.slice(0, count);
  }

  /** An array name (miINT8 text). */
  private text(e: Element): string {
    return new TextDecoder('latin1').decode(this.bytes.subarray(e.start, e.start + e.length));
  }
}

/** The text of a char value (its first row), or an error naming `what`. */
export function matString(value: MatValue | undefined, what: string): string {
  if (value?.type !== 'char') throw new MatFormatError(`${what}: expected text, found ${value?.type ?? 'nothing'}`);
  return value.rows[0] ?? '';
}

/** The single number of a numeric value, or an error naming `what`. */
export function matNumber(value: MatValue | undefined, what: string): number {
  if (value?.type !== 'numeric' || value.data.length < 1) {
    throw new MatFormatError(`${what}: expected a number, found ${value?.type ?? 'nothing'}`);
  }
  return value.data[0] ?? NaN;
}
