// exportOnnx: an embedding model written as an ONNX file that any ONNX runtime runs without mdprop.
// The graph takes pixels in [0, 1], applies the model's input normalisation, runs the network
// with the chosen batch-norm branch's running statistics, and returns L2-normalised embeddings.
import { inputScaling } from '../data/index.js';
import { MDPROP_VERSION, ONNX_IO, onnxMetadataProps, writeOnnxFile, type LoadedModel, type OnnxModelRecord } from '../formats/index.js';
import { ARCHS, bnBranchCount, C2F2, C2f2Backbone, EmbeddingModel, RESNET_SPECS, ResNetBackbone, type Arch, type ResNetArch } from '../nn/index.js';
import { foldBatchNorms } from './fold-bn.js';
import { GraphBuilder } from './graph.js';
import { emitEmbeddingModel } from './modules.js';
import { irVersionFor, OPSETS, opsetProblem } from './opset.js';

export interface ExportOptions {
  /** Batch-norm branch whose statistics the graph holds (0 = clean). Default: the loaded model's branch, else 0. */
  branch?: number;
  /** ONNX operator set, OPSETS.min..OPSETS.max (default OPSETS.default). */
  opset?: number;
  /** Fold each batch norm into the convolution before it (default false). */
  foldBn?: boolean;
  /** Side of the square input. Default: what the model file records, else 28 (c2f2), 32 (resnet-small), 224. */
  imageSize?: number;
  /** Shorter side to resize to before the centre crop (metadata only). Default: recorded, else 256 before a 224 crop, else the image size. */
  testResize?: number;
  /** Input scaling in the graph. Default: recorded, else 'mean-std'. */
  normalization?: 'mean-std' | 'none';
  /** Recorded in the metadata. Default: recorded, else 'unknown'. */
  dataset?: string;
  method?: string;
}

export interface ExportResult {
  file: string;
  bytes: number;
  opset: number;
  irVersion: number;
  /** Operators in the graph. */
  nodes: number;
  /** Batch norms folded into convolutions (0 without foldBn). */
  foldedBatchNorms: number;
  /** What metadata_props records. */
  record: OnnxModelRecord;
}

/** An option that cannot be used; `option` is its name in ExportOptions. */
export class ExportOptionError extends Error {
  override name = 'ExportOptionError';
  constructor(
    readonly option: string,
    readonly detail: string,
  ) {
    super(`${option}: ${detail}`);
  }
}

function isLoaded(model: EmbeddingModel | LoadedModel): model is LoadedModel {
  return !(model instanceof EmbeddingModel);
}

/** The architecture name of a model built by createModel, read from its backbone. */
export function archOf(model: EmbeddingModel): Arch {
  const b = model.backbone;
  if (b instanceof C2f2Backbone) return b.batchNorm ? 'c2f2-bn' : 'c2f2';
  if (b instanceof ResNetBackbone) {
    const same = (x: readonly number[], y: readonly number[]) => x.length === y.length && x.every((v, i) => v === y[i]);
    for (const name of Object.keys(RESNET_SPECS) as ResNetArch[]) {
      const spec = RESNET_SPECS[name];
      if (spec.block === b.spec.block && spec.stem === b.spec.stem && same(spec.blocks, b.spec.blocks) && same(spec.widths, b.spec.widths)) return name;
    }
  }
  throw new ExportOptionError('model', `its backbone (${b.constructor.name}) is none of mdprop's architectures (${ARCHS.join(', ')})`);
}

function inChannelsOf(model: EmbeddingModel): number {
  const b = model.backbone;
  if (b instanceof C2f2Backbone) return b.inChannels;
  if (b instanceof ResNetBackbone) return b.spec.inChannels;
  throw new ExportOptionError('model', `its backbone (${b.constructor.name}) is none of mdprop's architectures`);
}

function defaultImageSize(arch: Arch): number {
  if (arch === 'c2f2' || arch === 'c2f2-bn') return C2F2.side;
  return arch === 'resnet-small' ? 32 : 224;
}

function side(option: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 8192) throw new ExportOptionError(option, `expected an integer in 1..8192, got ${value}`);
  return value;
}

/** This package's version (package.json). */
export function mdpropVersion(): string {
  return MDPROP_VERSION;
}

/** The settings the file records, from the options, else the model file's metadata, else defaults. */
function resolveRecord(model: EmbeddingModel | LoadedModel, options: ExportOptions): OnnxModelRecord {
  const net = isLoaded(model) ? model.model : model;
  const meta = isLoaded(model) ? model.metadata : null;
  const arch = isLoaded(model) ? model.arch : archOf(net);
  const inChannels = inChannelsOf(net);
  const branches = bnBranchCount(net);
  const branch = options.branch ?? (isLoaded(model) ? model.branch : 0);
  if (!Number.isInteger(branch) || branch < 0) throw new ExportOptionError('branch', `expected a whole number, got ${branch}`);
  if (branch >= branches) {
    const loadedHint = isLoaded(model) && branches === 1 ? ' (a model loaded for branch 0 holds that branch only: load it with the branch to export)' : '';
    throw new ExportOptionError('branch', `branch ${branch} does not exist: the model has ${branches} batch-norm branch${branches === 1 ? '' : 'es'}${loadedHint}`);
  }
  const imageSize = side('imageSize', options.imageSize ?? meta?.image_size ?? defaultImageSize(arch));
  if ((arch === 'c2f2' || arch === 'c2f2-bn') && imageSize !== C2F2.side) throw new ExportOptionError('imageSize', `${arch} takes ${C2F2.side}x${C2F2.side} images, not ${imageSize}`);
  // The recorded resize belongs to the recorded image size; another size takes ImageNet's 256-for-224 rule, else no resize.
  const recordedResize = meta?.test_resize !== undefined && meta.image_size === imageSize ? meta.test_resize : undefined;
  const testResize = side('testResize', options.testResize ?? recordedResize ?? (imageSize === 224 ? 256 : imageSize));
  if (testResize < imageSize) throw new ExportOptionError('testResize', `${testResize} is smaller than the image size ${imageSize}`);
  const normalization = options.normalization ?? meta?.normalization ?? 'mean-std';
  if (normalization !== 'mean-std' && normalization !== 'none') throw new ExportOptionError('normalization', `expected 'mean-std' or 'none', got '${String(normalization)}'`);
  if (normalization === 'mean-std' && inChannels !== 1 && inChannels !== 3) {
    throw new ExportOptionError('normalization', `mean-std scaling is defined for 1 or 3 channels; the model takes ${inChannels}`);
  }
  const { mean, std } = inputScaling(normalization, inChannels as 1 | 3);
  const opset = options.opset ?? OPSETS.default;
  const opsetIssue = opsetProblem(opset);
  if (opsetIssue) throw new ExportOptionError('opset', opsetIssue);
  return {
    arch,
    embedDim: net.embedDim,
    inChannels,
    imageSize,
    testResize,
    normalization,
    mean: [...mean],
    std: [...std],
    branch,
    bnFolded: options.foldBn ?? false,
    dataset: options.dataset ?? meta?.dataset ?? 'unknown',
    method: options.method ?? meta?.method ?? 'unknown',
    ...(meta?.epoch === undefined ? {} : { epoch: meta.epoch }),
    mdpropVersion: mdpropVersion(),
  };
}

/**
 * Writes `model` (built by createModel, or loaded by loadModel with its settings) to `file` as an
 * ONNX model: input `images` [N, C, H, W] float32 pixels in [0, 1] (N free), output `embeddings`
 * [N, D]. The file is written atomically. Throws ExportOptionError naming a bad option.
 */
export function exportOnnx(model: EmbeddingModel | LoadedModel, file: string, options: ExportOptions = {}): ExportResult {
  const net = isLoaded(model) ? model.model : model;
  const record = resolveRecord(model, options);
  const opset = options.opset ?? OPSETS.default;
  const g = new GraphBuilder(opset, [ONNX_IO.input, ONNX_IO.output]);
  let x: string = ONNX_IO.input;
  if (record.normalization === 'mean-std') {
    const perChannel = (values: readonly number[]) => new Float32Array(values);
    x = g.node('Sub', [x, g.constant('input_mean', [1, record.inChannels, 1, 1], perChannel(record.mean))], [], 'input_minus_mean');
    x = g.node('Div', [x, g.constant('input_std', [1, record.inChannels, 1, 1], perChannel(record.std))], [], 'input_normalised');
  }
  emitEmbeddingModel({ graph: g, branch: record.branch }, net, x, ONNX_IO.output);
  const foldedBatchNorms = record.bnFolded ? foldBatchNorms(g) : 0;
  const irVersion = irVersionFor(opset);
  const bytes = writeOnnxFile(file, {
    irVersion,
    opset,
    producerName: 'mdprop',
    producerVersion: record.mdpropVersion,
    docString: `${record.arch} embedding model (D=${record.embedDim}): ${ONNX_IO.input} [N, ${record.inChannels}, ${record.imageSize}, ${record.imageSize}] pixels in [0, 1] -> ${ONNX_IO.output} [N, ${record.embedDim}], L2-normalised`,
    graph: {
      name: `mdprop_${record.arch.replace(/-/g, '_')}`,
      nodes: g.nodes,
      initializers: [...g.initializers.values()],
      inputs: [{ name: ONNX_IO.input, shape: ['batch', record.inChannels, record.imageSize, record.imageSize] }],
      outputs: [{ name: ONNX_IO.output, shape: ['batch', record.embedDim] }],
    },
    metadata: onnxMetadataProps(record),
  });
  return { file, bytes, opset, irVersion, nodes: g.nodes.length, foldedBatchNorms, record };
}
