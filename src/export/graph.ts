// A graph under construction: nodes in execution order and named constant tensors. Value names are
// module paths (`layer1.0.conv1`), made unique where a module runs twice (a block's shared ReLU).
import type { OnnxAttribute, OnnxInitializer, OnnxNode } from '../formats/index.js';
import type { Tensor } from '../torch/index.js';

export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers = new Map<string, OnnxInitializer>();
  readonly #names = new Set<string>();
  /** Names kept for the graph's input and output: no node or constant is named after a module there. */
  readonly #reserved: Set<string>;

  constructor(
    readonly opset: number,
    reserved: readonly string[],
  ) {
    this.#reserved = new Set(reserved);
    for (const name of reserved) this.#names.add(name);
  }

  #unique(name: string): string {
    let out = name;
    for (let k = 1; this.#names.has(out); k++) out = `${name}_${k}`;
    this.#names.add(out);
    return out;
  }

  /** A constant; returns its (unique) name. */
  constant(name: string, dims: readonly number[], data: Float32Array | BigInt64Array): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (data.length !== size) throw new Error(`constant ${name}: ${data.length} values for shape [${dims.join(', ')}]`);
    const unique = this.#unique(name);
    this.initializers.set(unique, { name: unique, dims: [...dims], data });
    return unique;
  }

  /** A float constant with the values of `t` (a copy, as float32, whatever its device). */
  tensor(name: string, t: Tensor): string {
    return this.constant(name, t.shape, t.toFloat32Array());
  }

  int64s(name: string, values: readonly number[]): string {
    return this.constant(name, [values.length], BigInt64Array.from(values, (v) => BigInt(v)));
  }

  /** Adds a node with one output, named after the node unless `output` names a reserved value. */
  node(opType: string, inputs: readonly string[], attributes: readonly OnnxAttribute[], name: string, output?: string): string {
    if (output !== undefined && !this.#reserved.delete(output)) throw new Error(`graph value '${output}' is not a reserved name`);
    const nodeName = this.#unique(name);
    const out = output ?? nodeName;
    this.nodes.push({ name: nodeName, opType, inputs: [...inputs], outputs: [out], attributes });
    return out;
  }
}

export const int = (name: string, value: number): OnnxAttribute => ({ name, kind: 'int', value });
export const ints = (name: string, value: readonly number[]): OnnxAttribute => ({ name, kind: 'ints', value });
export const float = (name: string, value: number): OnnxAttribute => ({ name, kind: 'float', value });
