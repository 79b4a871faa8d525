// Test helper: writes MAT v5 files the way MATLAB does (not scipy), to exercise the reader on
// what real files contain: compressed variables, integer-valued doubles stored in the smallest
// integer type, 4-byte values in the "small data element" format, char data as UTF-8 or uint16.
import { deflateSync } from 'node:zlib';

export type MatInput =
  | { readonly kind: 'char'; readonly rows: readonly string[]; readonly storage?: 'utf8' | 'uint16' }
  | { readonly kind: 'number'; readonly values: readonly number[]; readonly dims?: readonly number[]; readonly matClass?: 'double' | 'uint8' | 'int32' }
  | { readonly kind: 'cell'; readonly items: readonly MatInput[] }
  | { readonly kind: 'struct'; readonly fields: readonly string[]; readonly elements: readonly Record<string, MatInput>[] }
  | { readonly kind: 'sparse' };

const MI = { INT8: 1, UINT8: 2, UINT16: 4, INT32: 5, UINT32: 6, DOUBLE: 9, MATRIX: 14, COMPRESSED: 15, UTF8: 16 };
const MX = { cell: 1, struct: 2, char: 4, sparse: 5, double: 6, uint8: 9, int32: 12 };

export function char(text: string, storage: 'utf8' | 'uint16' = 'utf8'): MatInput {
  return { kind: 'char', rows: [text], storage };
}

export function num(value: number, matClass: 'double' | 'uint8' | 'int32' = 'double'): MatInput {
  return { kind: 'number', values: [value], matClass };
}

export function writeMat5(vars: Record<string, MatInput>, options: { compress?: boolean; bigEndian?: boolean } = {}): Buffer {
  const le = !options.bigEndian;
  const header = Buffer.alloc(128, 0x20);
  header.write('MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: test fixture', 0, 'latin1');
  header.fill(0, 116, 124);
  const tail = new DataView(header.buffer, header.byteOffset + 124, 4);
  tail.setUint16(0, 0x0100, le);
  header.write(le ? 'IM' : 'MI', 126, 'latin1');
  const parts: Buffer[] = [header];
  for (const [name, value] of Object.entries(vars)) {
    const matrix = matrixElement(name, value, le);
    parts.push(options.compress === false ? matrix : element(MI.COMPRESSED, deflateSync(matrix), le, false));
  }
  return Buffer.concat(parts);
}

function element(type: number, data: Buffer, le: boolean, allowSmall = true): Buffer {
  if (allowSmall && data.length <= 4 && type !== MI.MATRIX) {
    const out = Buffer.alloc(8);
    const view = new DataView(out.buffer, out.byteOffset, 8);
    view.setUint32(0, (data.length << 16) | type, le);
    data.copy(out, 4);
    return out;
  }
  const padded = type === MI.COMPRESSED ? data.length : Math.ceil(data.length / 8) * 8;
  const out = Buffer.alloc(8 + padded);
  const view = new DataView(out.buffer, out.byteOffset, 8);
  view.setUint32(0, type, le);
  view.setUint32(4, data.length, le);
  data.copy(out, 8);
  return out;
}

function ints(type: number, values: readonly number[], le: boolean): Buffer {
  const size = type === MI.UINT8 || type === MI.INT8 ? 1 : type === MI.UINT16 ? 2 : type === MI.DOUBLE ? 8 : 4;
  const out = Buffer.alloc(values.length * size);
  const view = new DataView(out.buffer, out.byteOffset, out.length);
  values.forEach((v, i) => {
    if (type === MI.UINT8) view.setUint8(i, v);
    else if (type === MI.INT8) view.setInt8(i, v);
    else if (type === MI.UINT16) view.setUint16(i * 2, v, le);
    else if (type === MI.INT32) view.setInt32(i * 4, v, le);
    else if (type === MI.UINT32) view.setUint32(i * 4, v, le);
    else view.setFloat64(i * 8, v, le);
  });
  return out;
}

function matrixElement(name: string, value: MatInput, le: boolean): Buffer {
  const head = (mxClass: number, dims: readonly number[]): Buffer[] => [
    element(MI.UINT32, ints(MI.UINT32, [mxClass, 0], le), le),
    element(MI.INT32, ints(MI.INT32, dims, le), le),
    element(MI.INT8, Buffer.from(name, 'latin1'), le),
  ];
  let body: Buffer[];
  switch (value.kind) {
    case 'char': {
      const width = Math.max(0, ...value.rows.map((r) => r.length));
      const codes: number[] = [];
      for (let c = 0; c < width; c++) for (const row of value.rows) codes.push(row.charCodeAt(c));
      const data = value.storage === 'uint16'
        ? element(MI.UINT16, ints(MI.UINT16, codes, le), le)
        : element(MI.UTF8, Buffer.from(String.fromCharCode(...codes), 'utf8'), le);
      body = [...head(MX.char, [value.rows.length, width]), data];
      break;
    }
    case 'number': {
      const matClass = value.matClass ?? 'double';
      // MATLAB stores integer-valued doubles in the smallest integer type that holds them.
      const compact = value.values.every((v) => Number.isInteger(v) && v >= 0 && v < 256);
      const storage = matClass === 'uint8' || (matClass === 'double' && compact) ? MI.UINT8 : matClass === 'int32' ? MI.INT32 : MI.DOUBLE;
      body = [...head(MX[matClass], value.dims ?? [1, value.values.length]), element(storage, ints(storage, value.values, le), le)];
      break;
    }
    case 'cell':
      body = [...head(MX.cell, [1, value.items.length]), ...value.items.map((item) => matrixElement('', item, le))];
      break;
    case 'struct': {
      const names = Buffer.alloc(32 * value.fields.length);
      value.fields.forEach((f, i) => names.write(f, i * 32, 'latin1'));
      body = [
        ...head(MX.struct, [1, value.elements.length]),
        element(MI.INT32, ints(MI.INT32, [32], le), le),
        element(MI.INT8, names, le),
        ...value.elements.flatMap((el) => value.fields.map((f) => matrixElement('', el[f] ?? { kind: 'number', values: [] }, le))),
      ];
      break;
    }
    case 'sparse':
      body = head(MX.sparse, [1, 1]);
      break;
  }
  return element(MI.MATRIX, Buffer.concat(body), le);
}
