// Folding inference-form batch norms into the convolutions that feed them. With
// s = gamma / sqrt(var + eps) per output channel, BN(conv(x; W, b)) = conv(x; W * s, (b - mean) * s + beta),
// so the pair becomes one convolution. The new weights are computed in float64 from the float32
// ones and rounded once, so the folded graph differs from the unfolded one by float32 rounding only.
import type { OnnxAttribute, OnnxInitializer, OnnxNode } from '../formats/index.js';
import type { GraphBuilder } from './graph.js';

function floatData(g: GraphBuilder, name: string | undefined): Float32Array | null {
  const t = name === undefined ? undefined : g.initializers.get(name);
  return t && t.data instanceof Float32Array ? t.data : null;
}

function epsilonOf(attributes: readonly OnnxAttribute[]): number {
  const a = attributes.find((x) => x.name === 'epsilon');
  // The attribute is a float32; libtorch adds eps to the float32 variance as a float32 as well.
  return Math.fround(a && a.kind === 'float' ? a.value : 1e-5);
}

/** A Gemm computing x W^T (+ b) with no scaling: the only form the exporter writes for Linear. */
function isTransposedGemm(node: OnnxNode): boolean {
  const value = (name: string, fallback: number) => {
    const a = node.attributes.find((x) => x.name === name);
    return a && (a.kind === 'int' || a.kind === 'float') ? a.value : fallback;
  };
  return value('transB', 0) === 1 && value('transA', 0) === 0 && value('alpha', 1) === 1 && value('beta', 1) === 1;
}

/**
 * Replaces every Conv -> BatchNormalization pair (the conv's output read by that BN alone) with one
 * Conv, and every Gemm -> Reshape -> BatchNormalization chain (c2f2-bn's normalised fully connected
 * layer; a transposed Gemm weight holds one output channel per row, as a conv weight does) with
 * Gemm -> Reshape; constants nothing reads any more are dropped. Returns the number of batch norms folded.
 */
export function foldBatchNorms(g: GraphBuilder): number {
  const readers = new Map<string, number>();
  for (const n of g.nodes) for (const input of n.inputs) readers.set(input, (readers.get(input) ?? 0) + 1);
  const producer = new Map<string, number>();
  g.nodes.forEach((n, i) => producer.set(n.outputs[0]!, i));
  const replaced = new Map<number, OnnxNode>();
  const removed = new Set<number>();
  g.nodes.forEach((bn, bnIndex) => {
    if (bn.opType !== 'BatchNormalization') return;
    let convIndex = producer.get(bn.inputs[0]!);
    let reshapeIndex: number | undefined;
    const direct = convIndex === undefined ? undefined : g.nodes[convIndex];
    if (direct?.opType === 'Reshape' && readers.get(direct.outputs[0]!) === 1) {
      reshapeIndex = convIndex;
      convIndex = producer.get(direct.inputs[0]!);
    }
    const conv = convIndex === undefined ? undefined : g.nodes[convIndex];
    const foldable = reshapeIndex === undefined ? conv?.opType === 'Conv' : conv?.opType === 'Gemm' && isTransposedGemm(conv);
    if (convIndex === undefined || !conv || !foldable || readers.get(conv.outputs[0]!) !== 1) return;
    const weight = g.initializers.get(conv.inputs[1]!);
    const w = floatData(g, conv.inputs[1]);
    const [gamma, beta, mean, variance] = bn.inputs.slice(1, 5).map((name) => floatData(g, name));
    if (!weight || !w || !gamma || !beta || !mean || !variance || readers.get(conv.inputs[1]!) !== 1) return;
    const b = conv.inputs.length > 2 ? floatData(g, conv.inputs[2]) : null;
    if (conv.inputs.length > 2 && (!b || readers.get(conv.inputs[2]!) !== 1)) return;
    const eps = epsilonOf(bn.attributes);
    const channels = gamma.length;
    const perChannel = w.length / channels;
    const folded = new Float32Array(w.length);
    const shift = new Float32Array(channels);
    for (let c = 0; c < channels; c++) {
      const s = gamma[c]! / Math.sqrt(variance[c]! + eps);
      for (let j = c * perChannel; j < (c + 1) * perChannel; j++) folded[j] = w[j]! * s;
      shift[c] = ((b ? b[c]! : 0) - mean[c]!) * s + beta[c]!;
    }
    g.initializers.set(weight.name, { ...weight, data: folded });
    const biasName = b ? conv.inputs[2]! : g.constant(`${conv.name}.bias`, [channels], shift);
    if (b) g.initializers.set(biasName, { ...(g.initializers.get(biasName) as OnnxInitializer), data: shift });
    if (reshapeIndex === undefined) {
      replaced.set(convIndex, { ...conv, inputs: [conv.inputs[0]!, weight.name, biasName], outputs: bn.outputs });
    } else {
      replaced.set(convIndex, { ...conv, inputs: [conv.inputs[0]!, weight.name, biasName] });
      const reshape = g.nodes[reshapeIndex]!;
      replaced.set(reshapeIndex, { ...reshape, outputs: bn.outputs });
    }
    removed.add(bnIndex);
  });
  const kept = g.nodes.flatMap((n, i) => (removed.has(i) ? [] : [replaced.get(i) ?? n]));
  g.nodes.splice(0, g.nodes.length, ...kept);
  const read = new Set(kept.flatMap((n) => n.inputs));
  for (const name of [...g.initializers.keys()]) if (!read.has(name)) g.initializers.delete(name);
  return removed.size;
}
