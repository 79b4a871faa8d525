// The exported file itself: metadata_props read back by a protobuf walker written here (field
// numbers of ONNX's schema), the graph's input and output, every supported opset giving the same
// embeddings, the normalisation epsilon, batch-norm folding worked by hand, and the errors.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { ExportOptionError, exportOnnx, foldBatchNorms, GraphBuilder, OPSETS, UnsupportedModuleError } from '../../src/export/index.js';
import { FormatError, readOnnxFile } from '../../src/formats/index.js';
import { convertToMultiBatchNorm, createModel, Module, Sequential, type EmbeddingModel } from '../../src/nn/index.js';
import { manualSeed, noGrad, rand, tensor, tidy, type Tensor } from '../../src/torch/index.js';
import { maxAbsDiff, randomiseBatchNorms, runOnnx } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'mdprop-export-file-'));
const packageVersion = (JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as { version: string }).version;

// ---- a protobuf reader independent of the exporter's schema ------------------------------------
type Field = { number: number; wire: number; value: bigint | Uint8Array };

function varint(bytes: Uint8Array, at: number): [bigint, number] {
  let value = 0n;
  let shift = 0n;
  for (;;) {
    const b = bytes[at++]!;
    value |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return [value, at];
    shift += 7n;
  }
}

function fields(bytes: Uint8Array): Field[] {
  const out: Field[] = [];
  let at = 0;
  while (at < bytes.length) {
    const [key, next] = varint(bytes, at);
    at = next;
    const number = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      const [v, n] = varint(bytes, at);
      out.push({ number, wire, value: v });
      at = n;
    } else if (wire === 2) {
      const [len, n] = varint(bytes, at);
      out.push({ number, wire, value: bytes.subarray(n, n + Number(len)) });
      at = n + Number(len);
    } else if (wire === 5) at += 4;
    else if (wire === 1) at += 8;
    else throw new Error(`wire type ${wire}`);
  }
  return out;
}

const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

/** ModelProto field 14: repeated StringStringEntryProto {key = 1, value = 2}. */
function metadataProps(file: string): Record<string, string> {
  const props: Record<string, string> = {};
  for (const f of fields(readFileSync(file))) {
    if (f.number !== 14) continue;
    const entry = fields(f.value as Uint8Array);
    props[text(entry.find((e) => e.number === 1)!.value as Uint8Array)] = text(entry.find((e) => e.number === 2)!.value as Uint8Array);
  }
  return props;
}

// ---- helpers -------------------------------------------------------------------------------------
function smallModel(branches = 1): EmbeddingModel {
  manualSeed(2);
  const model = convertToMultiBatchNorm(createModel({ arch: 'resnet-small', embedDim: 8, inChannels: 3 }), branches);
  randomiseBatchNorms(model, [4, 3, 32, 32], branches);
  return model;
}

/** mdprop's embeddings of pixels in [0, 1], normalised with ImageNet's mean and std as the graph does. */
function mdpropEmbed(model: EmbeddingModel, pixels: Float32Array, shape: number[]): Float32Array {
  return tidy(() =>
    noGrad(() => {
      const mean = tensor(new Float32Array([0.485, 0.456, 0.406]), [1, 3, 1, 1]);
      const std = tensor(new Float32Array([0.229, 0.224, 0.225]), [1, 3, 1, 1]);
      return model.eval().forward(tensor(pixels, shape).sub(mean).div(std)).toFloat32Array();
    }),
  );
}

function randomPixels(n: number): Float32Array {
  return tidy(() => rand([n, 3, 32, 32]).toFloat32Array());
}

// Nothing is left behind in the temporary folder.
after(() => rmSync(dir, { recursive: true, force: true }));

describe('the ONNX file', () => {
  it('records the settings in metadata_props (read by field number) and names its input and output', async () => {
    const model = smallModel(2);
    const file = join(dir, 'meta.onnx');
    exportOnnx(model, file, { branch: 1, foldBn: true, imageSize: 32, testResize: 36, dataset: 'cub200', method: 'mdprop' });
    assert.deepEqual(metadataProps(file), {
      format: 'mdprop.onnx/1',
      arch: 'resnet-small',
      embed_dim: '8',
      in_channels: '3',
      image_size: '32',
      test_resize: '36',
      normalization: 'mean-std',
      mean: '[0.485,0.456,0.406]',
      std: '[0.229,0.224,0.225]',
      branch: '1',
      bn_folded: 'true',
      dataset: 'cub200',
      method: 'mdprop',
      mdprop_version: packageVersion,
    });
    const { summary, metadata } = readOnnxFile(file);
    assert.equal(metadata?.branch, 1);
    assert.deepEqual(metadata?.mean, [0.485, 0.456, 0.406]);
    assert.deepEqual(summary.opsets, { '': OPSETS.default });
    assert.equal(summary.producerName, 'mdprop');
    assert.deepEqual(summary.inputs, [{ name: 'images', shape: ['batch', 3, 32, 32] }]);
    assert.deepEqual(summary.outputs, [{ name: 'embeddings', shape: ['batch', 8] }]);
    const session = await ort.InferenceSession.create(file);
    assert.deepEqual([session.inputNames, session.outputNames], [['images'], ['embeddings']]);
    await session.release();
    model.dispose();
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'no temporary file is left');
  });

  it(`gives the same embeddings at every opset it writes (${OPSETS.min}..${OPSETS.max}), unfolded and folded`, async () => {
    const model = smallModel();
    const pixels = randomPixels(3);
    const reference = mdpropEmbed(model, pixels, [3, 3, 32, 32]);
    for (let opset = OPSETS.min; opset <= OPSETS.max; opset++) {
      for (const foldBn of [false, true]) {
        const file = join(dir, `opset-${opset}.onnx`);
        const r = exportOnnx(model, file, { opset, foldBn });
        assert.equal(readOnnxFile(file).summary.opsets[''], opset);
        assert.ok(r.irVersion >= 7);
        const { data } = await runOnnx(file, pixels, [3, 3, 32, 32]);
        const diff = maxAbsDiff(data, reference);
        assert.ok(diff <= 1e-5, `opset ${opset}${foldBn ? ' folded' : ''}: max |Δ| ${diff}`);
      }
    }
    model.dispose();
  });

  it("normalises with mdprop's epsilon: a head output below it is divided by 1e-12, zero stays zero", async () => {
    const model = smallModel();
    const head = model.head;
    noGrad(() => {
      head.weight.zero_();
      head.bias!.copy_(tensor(new Float32Array([1e-13, -2e-13, 0, 0, 0, 0, 0, 3e-13]), [8]));
    });
    const pixels = randomPixels(2);
    const file = join(dir, 'eps.onnx');
    exportOnnx(model, file);
    const { data } = await runOnnx(file, pixels, [2, 3, 32, 32]);
    const reference = mdpropEmbed(model, pixels, [2, 3, 32, 32]);
    assert.ok(Math.abs(reference[0]! - 0.1) < 1e-6, `mdprop gives ${reference[0]}`);
    assert.ok(maxAbsDiff(data, reference) <= 1e-6, `onnxruntime ${Array.from(data.slice(0, 8))}, mdprop ${Array.from(reference.slice(0, 8))}`);
    noGrad(() => head.bias!.zero_());
    exportOnnx(model, file);
    const zero = await runOnnx(file, pixels, [2, 3, 32, 32]);
    assert.ok(zero.data.every((v) => v === 0), 'a zero head output embeds as zeros, not NaN');
    model.dispose();
  });

  it('folds a batch norm into a convolution with bias as worked by hand', () => {
    // Conv 1 -> 2 channels, 1x1 kernel, weights [2, -1], bias [0.5, 1]; BN gamma [2, 1], beta [0.1, -0.2],
    // mean [1, -1], var [3, 0.25], eps 1e-5: s = gamma / sqrt(var + eps).
    const g = new GraphBuilder(17, ['images', 'out']);
    const conv = g.node('Conv', ['images', g.constant('w', [2, 1, 1, 1], new Float32Array([2, -1])), g.constant('b', [2], new Float32Array([0.5, 1]))], [], 'conv');
    const bnInputs = [[2, 1], [0.1, -0.2], [1, -1], [3, 0.25]].map((v, i) => g.constant(`bn${i}`, [2], new Float32Array(v)));
    g.node('BatchNormalization', [conv, ...bnInputs], [{ name: 'epsilon', kind: 'float', value: 1e-5 }], 'bn', 'out');
    assert.equal(foldBatchNorms(g), 1);
    assert.deepEqual(g.nodes.map((n) => [n.opType, n.outputs[0]]), [['Conv', 'out']]);
    const eps = Math.fround(1e-5);
    const s = [2 / Math.sqrt(3 + eps), 1 / Math.sqrt(0.25 + eps)];
    const weight = g.initializers.get(g.nodes[0]!.inputs[1]!)!.data as Float32Array;
    const bias = g.initializers.get(g.nodes[0]!.inputs[2]!)!.data as Float32Array;
    assert.deepEqual(Array.from(weight), [Math.fround(2 * s[0]!), Math.fround(-1 * s[1]!)]);
    assert.deepEqual(Array.from(bias), [Math.fround((0.5 - 1) * s[0]! + 0.1), Math.fround((1 + 1) * s[1]! - 0.2)]);
    assert.deepEqual([...g.initializers.keys()].sort(), ['b', 'w'], 'the batch norm constants are gone');
  });

  it('refuses what it cannot write, naming the option or the module', () => {
    const model = smallModel();
    const file = join(dir, 'bad.onnx');
    const option = (name: string) => (err: unknown) => err instanceof ExportOptionError && err.option === name;
    assert.throws(() => exportOnnx(model, file, { opset: OPSETS.min - 1 }), option('opset'));
    assert.throws(() => exportOnnx(model, file, { opset: OPSETS.max + 1 }), option('opset'));
    assert.throws(() => exportOnnx(model, file, { branch: 1 }), option('branch'));
    assert.throws(() => exportOnnx(model, file, { imageSize: 0 }), option('imageSize'));
    assert.throws(() => exportOnnx(model, file, { imageSize: 64, testResize: 32 }), option('testResize'));
    const c2f2 = createModel({ arch: 'c2f2', embedDim: 4 });
    assert.throws(() => exportOnnx(c2f2, file, { imageSize: 32 }), option('imageSize'));
    c2f2.dispose();
    // A module with no ONNX form: named by its path and class.
    class Doubler extends Module {
      forward(x: Tensor): Tensor {
        return x.mul(2);
      }
    }
    model.backbone.child<Sequential>('layer2').setChild('1', new Doubler());
    assert.throws(() => exportOnnx(model, file), (err: unknown) => err instanceof UnsupportedModuleError && /layer2\.1: Doubler/.test(err.message));
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('bad.onnx')), [], 'nothing was written');
    model.dispose();
  });

  it('reading: a file that is not ONNX, or missing, is a FormatError naming it', () => {
    const junk = join(dir, 'junk.onnx');
    writeFileSync(junk, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2]));
    assert.throws(() => readOnnxFile(junk), (err: unknown) => err instanceof FormatError && err.file === junk && /not an ONNX model/.test(err.message));
    assert.throws(() => readOnnxFile(join(dir, 'missing.onnx')), (err: unknown) => err instanceof FormatError && /file not found/.test(err.message));
  });
});
