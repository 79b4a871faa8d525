// The ONNX container: the part of ONNX's protobuf schema that an inference graph of convolutions,
// pooling and matrix products needs, written here as a proto2 file (the field numbers and enum
// values are ONNX's own, so any ONNX reader takes the result; fields left out are skipped when a
// file from elsewhere is decoded). protobufjs compiles it at load time; the types below describe
// what mdprop writes, and decodeOnnxModel returns the few fields a reader needs.
import protobuf from 'protobufjs';

const ONNX_SCHEMA = `
syntax = "proto2";
package onnx;

message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}

message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
}

message AttributeProto {
  enum AttributeType {
    UNDEFINED = 0;
    FLOAT = 1;
    INT = 2;
    STRING = 3;
    TENSOR = 4;
    FLOATS = 6;
    INTS = 7;
  }
  optional string name = 1;
  optional AttributeType type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  repeated float floats = 7;
  repeated int64 ints = 8;
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  optional Tensor tensor_type = 1;
}

message TensorShapeProto {
  message Dimension {
    optional int64 dim_value = 1;
    optional string dim_param = 2;
  }
  repeated Dimension dim = 1;
}

message TensorProto {
  enum DataType {
    UNDEFINED = 0;
    FLOAT = 1;
    INT64 = 7;
    DOUBLE = 11;
  }
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  optional string name = 8;
  optional bytes raw_data = 9;
}
`;

const root = protobuf.parse(ONNX_SCHEMA, { keepCase: true }).root;
const ModelProto = root.lookupType('onnx.ModelProto');

/** ONNX's element type codes (TensorProto.DataType) of the tensors mdprop writes. */
export const ONNX_DTYPE = { float: 1, int64: 7 } as const;
const ATTRIBUTE_TYPE = { float: 1, int: 2, floats: 6, ints: 7 } as const;

export type OnnxAttribute =
  | { readonly name: string; readonly kind: 'int'; readonly value: number }
  | { readonly name: string; readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly name: string; readonly kind: 'float'; readonly value: number }
  | { readonly name: string; readonly kind: 'floats'; readonly value: readonly number[] };

export interface OnnxNode {
  readonly name: string;
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: readonly OnnxAttribute[];
}

/** A constant tensor of the graph (weights, statistics, shapes), stored as little-endian raw bytes. */
export interface OnnxInitializer {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: Float32Array | BigInt64Array;
}

/** A float tensor at the graph's edge; a string dimension is symbolic (e.g. the batch size). */
export interface OnnxValueInfo {
  readonly name: string;
  readonly shape: readonly (number | string)[];
}

export interface OnnxGraph {
  readonly name: string;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly OnnxInitializer[];
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
}

export interface OnnxModel {
  readonly irVersion: number;
  /** Version of the default ('ai.onnx') operator set. */
  readonly opset: number;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly docString: string;
  readonly graph: OnnxGraph;
  /** Stored as metadata_props, in key order. */
  readonly metadata: Readonly<Record<string, string>>;
}

function attributeMessage(a: OnnxAttribute): Record<string, unknown> {
  const type = ATTRIBUTE_TYPE[a.kind];
  switch (a.kind) {
    case 'int':
      return { name: a.name, type, i: a.value };
    case 'ints':
      return { name: a.name, type, ints: [...a.value] };
    case 'float':
      return { name: a.name, type, f: a.value };
    case 'floats':
      return { name: a.name, type, floats: [...a.value] };
  }
}

function littleEndianBytes(data: Float32Array | BigInt64Array): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) return bytes;
  const width = data.BYTES_PER_ELEMENT;
  const swapped = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += width) for (let j = 0; j < width; j++) swapped[i + j] = bytes[i + width - 1 - j]!;
  return swapped;
}

function valueInfoMessage(v: OnnxValueInfo): Record<string, unknown> {
  const dim = v.shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d }));
  return { name: v.name, type: { tensor_type: { elem_type: ONNX_DTYPE.float, shape: { dim } } } };
}

/** The model as protobuf bytes (an .onnx file). */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  const g = model.graph;
  const message = ModelProto.fromObject({
    ir_version: model.irVersion,
    opset_import: [{ domain: '', version: model.opset }],
    producer_name: model.producerName,
    producer_version: model.producerVersion,
    doc_string: model.docString,
    graph: {
      name: g.name,
      node: g.nodes.map((n) => ({ name: n.name, op_type: n.opType, input: [...n.inputs], output: [...n.outputs], attribute: n.attributes.map(attributeMessage) })),
      initializer: g.initializers.map((t) => ({
        name: t.name,
        dims: [...t.dims],
        data_type: t.data instanceof Float32Array ? ONNX_DTYPE.float : ONNX_DTYPE.int64,
        raw_data: littleEndianBytes(t.data),
      })),
      input: g.inputs.map(valueInfoMessage),
      output: g.outputs.map(valueInfoMessage),
    },
    metadata_props: Object.entries(model.metadata).map(([key, value]) => ({ key, value })),
  });
  return ModelProto.encode(message).finish();
}

/** What a reader of an .onnx file learns without running it. */
export interface OnnxSummary {
  irVersion: number;
  /** Operator-set versions by domain ('' is the default domain). */
  opsets: Record<string, number>;
  producerName: string;
  producerVersion: string;
  metadata: Record<string, string>;
  /** Graph inputs and outputs that are not initializers, with their shapes (symbolic dims as names). */
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  /** Operator type of each node, in graph order. */
  opTypes: string[];
  initializerCount: number;
}

interface DecodedDim {
  dim_value?: unknown;
  dim_param?: string;
}
interface DecodedValueInfo {
  name?: string;
  type?: { tensor_type?: { shape?: { dim?: DecodedDim[] } } };
}

function decodedValueInfo(v: DecodedValueInfo): OnnxValueInfo {
  const dims = v.type?.tensor_type?.shape?.dim ?? [];
  return { name: v.name ?? '', shape: dims.map((d) => d.dim_param ?? Number(d.dim_value ?? 0)) };
}

/** Decodes the container; throws protobufjs's error on bytes that are not a ModelProto. */
export function decodeOnnxModel(bytes: Uint8Array): OnnxSummary {
  const m = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, defaults: false }) as {
    ir_version?: number;
    opset_import?: { domain?: string; version?: number }[];
    producer_name?: string;
    producer_version?: string;
    metadata_props?: { key?: string; value?: string }[];
    graph?: { node?: { op_type?: string }[]; initializer?: { name?: string }[]; input?: DecodedValueInfo[]; output?: DecodedValueInfo[] };
  };
  const initializers = new Set((m.graph?.initializer ?? []).map((t) => t.name));
  return {
    irVersion: m.ir_version ?? 0,
    opsets: Object.fromEntries((m.opset_import ?? []).map((o) => [o.domain ?? '', o.version ?? 0])),
    producerName: m.producer_name ?? '',
    producerVersion: m.producer_version ?? '',
    metadata: Object.fromEntries((m.metadata_props ?? []).map((p) => [p.key ?? '', p.value ?? ''])),
    inputs: (m.graph?.input ?? []).filter((v) => !initializers.has(v.name)).map(decodedValueInfo),
    outputs: (m.graph?.output ?? []).map(decodedValueInfo),
    opTypes: (m.graph?.node ?? []).map((n) => n.op_type ?? ''),
    initializerCount: initializers.size,
  };
}
