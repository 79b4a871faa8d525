// Element types and their libtorch codes (c10::ScalarType order).
export type DType = 'uint8' | 'int8' | 'int16' | 'int32' | 'int64' | 'float16' | 'float32' | 'float64' | 'bool' | 'bfloat16';

const codes: Record<DType, number> = {
  uint8: 0,
  int8: 1,
  int16: 2,
  int32: 3,
  int64: 4,
  float16: 5,
  float32: 6,
  float64: 7,
  bool: 11,
  bfloat16: 15,
};

export function isDType(name: string): name is DType {
  return Object.hasOwn(codes, name);
}

const byCode = new Map<number, DType>(Object.entries(codes).map(([k, v]) => [v, k as DType]));

export function dtypeCode(dtype: DType): number {
  const code = codes[dtype];
  if (code === undefined) throw new TypeError(`unknown dtype '${String(dtype)}'; expected one of ${Object.keys(codes).join(', ')}`);
  return code;
}

export function dtypeFromCode(code: number): DType {
  const dtype = byCode.get(code);
  if (!dtype) throw new TypeError(`unsupported libtorch scalar type code ${code}`);
  return dtype;
}

/** Bytes of one element of each dtype. */
export const ITEM_BYTES: Readonly<Record<DType, number>> = { float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1 };

export const isFloating = (d: DType): boolean => d === 'float16' || d === 'float32' || d === 'float64' || d === 'bfloat16';

/** The 16-bit floating types that mixed precision computes in (their results return to float32 at a model's outputs). */
export const isReducedFloat = (d: DType): boolean => d === 'bfloat16' || d === 'float16';

/** The typed array that holds each dtype's elements when read out or passed in. */
export type TypedArrayFor<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'float64'
    ? Float64Array
    : D extends 'int64'
      ? BigInt64Array
      : D extends 'int32'
        ? Int32Array
        : D extends 'int16'
          ? Int16Array
          : D extends 'int8'
            ? Int8Array
            : D extends 'float16' | 'bfloat16'
              ? Uint16Array
              : Uint8Array;

export type AnyTypedArray =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint16Array
  | Uint8Array;

export function viewAs(dtype: DType, buffer: ArrayBuffer): AnyTypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer);
    case 'float64':
      return new Float64Array(buffer);
    case 'int64':
      return new BigInt64Array(buffer);
    case 'int32':
      return new Int32Array(buffer);
    case 'int16':
      return new Int16Array(buffer);
    case 'int8':
      return new Int8Array(buffer);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(buffer);
    default:
      return new Uint8Array(buffer);
  }
}

/** The dtype a typed array naturally holds. */
export function dtypeOfArray(data: AnyTypedArray): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array) return 'uint8';
  throw new TypeError('cannot infer a dtype from this typed array; pass dtype explicitly');
}
