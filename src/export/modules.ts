// The graph of a model, module by module: each module class of src/nn becomes the ONNX operators
// that compute what its forward computes in eval mode, with its own tensors as constants named by
// their state-dict keys. A module with no entry here is refused by name, so a new layer cannot be
// exported wrongly by accident.
import {
  AdaptiveAvgPool2d,
  BasicBlock,
  BatchNorm2d,
  Bottleneck,
  C2F2,
  C2f2Backbone,
  Conv2d,
  EmbeddingModel,
  Flatten,
  Identity,
  Linear,
  MaxPool2d,
  MultiBatchNorm2d,
  ReLU,
  ResNetBackbone,
  Sequential,
  ToMap,
  type Module,
  type Pair,
} from '../nn/index.js';
import { F, ones, tidy, zeros } from '../torch/index.js';
import { axesAsInput } from './opset.js';
import { float, int, ints, type GraphBuilder } from './graph.js';

/** What every emitter needs: the graph, and which batch-norm branch the graph takes its statistics from. */
export interface EmitContext {
  readonly graph: GraphBuilder;
  readonly branch: number;
}

/** A module's class has no ONNX form here (or one of its settings has none). */
export class UnsupportedModuleError extends Error {
  override name = 'UnsupportedModuleError';
}

type AnyModule = Module<unknown, unknown>;

function join(path: string, name: string): string {
  if (!path) return name;
  return name ? `${path}.${name}` : path;
}

const pair = (p: Pair): [number, number] => (typeof p === 'number' ? [p, p] : p);

/** Emits `m` applied to the value `x`; `path` is its state-dict prefix. Returns the output value. */
export function emitModule(ctx: EmitContext, m: AnyModule, x: string, path: string): string {
  if (m instanceof Conv2d) return conv(ctx, m, x, path);
  if (m instanceof MultiBatchNorm2d) return emitModule(ctx, m.branch(ctx.branch), x, ctx.branch === 0 ? path : join(path, `aux.${ctx.branch - 1}`));
  if (m instanceof BatchNorm2d) return batchNorm(ctx, m, x, path);
  if (m instanceof ReLU) return ctx.graph.node('Relu', [x], [], join(path, 'relu'));
  if (m instanceof Identity) return x;
  if (m instanceof MaxPool2d) return maxPool(ctx, m, x, path);
  if (m instanceof AdaptiveAvgPool2d) {
    const [h, w] = pair(m.outputSize);
    if (h !== 1 || w !== 1) throw new UnsupportedModuleError(`${path}: AdaptiveAvgPool2d to ${h}x${w} has no ONNX form here (only global pooling, 1x1)`);
    return ctx.graph.node('GlobalAveragePool', [x], [], path);
  }
  if (m instanceof Flatten) {
    if (m.startDim !== 1 || m.endDim !== -1) throw new UnsupportedModuleError(`${path}: Flatten(${m.startDim}, ${m.endDim}) has no ONNX form here (only Flatten(1, -1))`);
    return ctx.graph.node('Flatten', [x], [int('axis', 1)], path);
  }
  if (m instanceof Linear) return linear(ctx, m, x, path);
  // c2f2-bn's view of fc1's outputs as a 1x1 map, so a BatchNorm2d can normalise them.
  if (m instanceof ToMap) return ctx.graph.node('Reshape', [x, ctx.graph.int64s(join(path, 'shape'), [0, -1, 1, 1])], [], path);
  if (m instanceof Sequential) return m.namedChildren().reduce((h, [name, child]) => emitModule(ctx, child, h, join(path, name)), x);
  if (m instanceof BasicBlock || m instanceof Bottleneck) return residualBlock(ctx, m, x, path);
  if (m instanceof ResNetBackbone) {
    const names = ['conv1', 'bn1', 'relu', ...(m.spec.stem === 'imagenet' ? ['maxpool'] : [])];
    for (let i = 1; i <= m.stages; i++) names.push(`layer${i}`);
    return names.reduce((h, name) => emitModule(ctx, m.child(name), h, join(path, name)), x);
  }
  if (m instanceof C2f2Backbone) {
    const features = m.order.reduce((h, name) => emitModule(ctx, m.child(name), h, join(path, name)), x);
    // As its forward: the features as a 1x1 map, so the embedding model's pooling passes them through.
    return ctx.graph.node('Reshape', [features, ctx.graph.int64s(join(path, 'feature_map_shape'), [-1, C2F2.hidden, 1, 1])], [], join(path, 'feature_map'));
  }
  if (m instanceof EmbeddingModel) throw new UnsupportedModuleError(`${path || 'model'}: an embedding model is exported whole by emitEmbeddingModel`);
  throw new UnsupportedModuleError(`${path || 'model'}: ${m.constructor.name} has no ONNX form in mdprop's exporter`);
}

function conv(ctx: EmitContext, m: Conv2d, x: string, path: string): string {
  const g = ctx.graph;
  const [ph, pw] = pair(m.padding);
  const inputs = [x, g.tensor(join(path, 'weight'), m.weight)];
  if (m.bias) inputs.push(g.tensor(join(path, 'bias'), m.bias));
  const attributes = [ints('kernel_shape', m.kernelSize), ints('strides', pair(m.stride)), ints('pads', [ph, pw, ph, pw]), ints('dilations', pair(m.dilation)), int('group', m.groups)];
  return g.node('Conv', inputs, attributes, path);
}

/** Inference form: the running statistics normalise (what eval mode does). */
function batchNorm(ctx: EmitContext, m: BatchNorm2d, x: string, path: string): string {
  const g = ctx.graph;
  const { runningMean, runningVar, weight, bias } = m;
  if (!runningMean || !runningVar) throw new UnsupportedModuleError(`${path}: a BatchNorm2d without running statistics normalises with each batch's own, which has no fixed inference form`);
  const n = m.numFeatures;
  const scale = weight ? g.tensor(join(path, 'weight'), weight) : tidy(() => g.tensor(join(path, 'weight'), ones([n])));
  const shift = bias ? g.tensor(join(path, 'bias'), bias) : tidy(() => g.tensor(join(path, 'bias'), zeros([n])));
  const inputs = [x, scale, shift, g.tensor(join(path, 'running_mean'), runningMean), g.tensor(join(path, 'running_var'), runningVar)];
  return g.node('BatchNormalization', inputs, [float('epsilon', m.config.eps)], path);
}

function maxPool(ctx: EmitContext, m: MaxPool2d, x: string, path: string): string {
  if (m.options.ceilMode) throw new UnsupportedModuleError(`${path}: MaxPool2d with ceilMode has no ONNX form here`);
  const kernel = pair(m.kernelSize);
  const [ph, pw] = pair(m.options.padding ?? 0);
  return ctx.graph.node('MaxPool', [x], [ints('kernel_shape', kernel), ints('strides', pair(m.options.stride ?? m.kernelSize)), ints('pads', [ph, pw, ph, pw])], path);
}

/** y = x W^T + b. */
function linear(ctx: EmitContext, m: Linear, x: string, path: string): string {
  const g = ctx.graph;
  const inputs = [x, g.tensor(join(path, 'weight'), m.weight)];
  if (m.bias) inputs.push(g.tensor(join(path, 'bias'), m.bias));
  return g.node('Gemm', inputs, [int('transB', 1)], path);
}

/** relu(branch(x) + shortcut(x)); the branch's layers as the block classes chain them. */
function residualBlock(ctx: EmitContext, m: BasicBlock | Bottleneck, x: string, path: string): string {
  const layer = (name: string, input: string) => emitModule(ctx, m.child(name), input, join(path, name));
  const stages = m instanceof Bottleneck ? ['1', '2', '3'] : ['1', '2'];
  let h = x;
  stages.forEach((s, i) => {
    h = layer(`bn${s}`, layer(`conv${s}`, h));
    if (i < stages.length - 1) h = layer('relu', h);
  });
  const shortcut = m.hasProjection ? layer('downsample', x) : x;
  const sum = ctx.graph.node('Add', [h, shortcut], [], join(path, 'add'));
  return layer('relu', sum);
}

/**
 * The whole embedding model: backbone, global average pooling, flatten, the `fc` head, then
 * x / max(||x||_2, 1e-12) row by row (mdprop's F.l2Normalize, the same epsilon) into `output`.
 */
export function emitEmbeddingModel(ctx: EmitContext, model: EmbeddingModel, x: string, output: string): string {
  const g = ctx.graph;
  const features = emitModule(ctx, model.backbone, x, '');
  const pooled = emitModule(ctx, model.child('avgpool'), features, 'avgpool');
  const flat = g.node('Flatten', [pooled], [int('axis', 1)], 'flatten');
  const projection = emitModule(ctx, model.head, flat, 'fc');
  const norm = axesAsInput(g.opset)
    ? g.node('ReduceL2', [projection, g.int64s('l2_axes', [1])], [int('keepdims', 1)], 'l2_norm')
    : g.node('ReduceL2', [projection], [ints('axes', [1]), int('keepdims', 1)], 'l2_norm');
  const clamped = g.node('Max', [norm, g.constant('l2_eps', [], new Float32Array([F.L2_NORMALIZE_EPS]))], [], 'l2_norm_clamped');
  return g.node('Div', [projection, clamped], [], 'l2_normalize', output);
}
