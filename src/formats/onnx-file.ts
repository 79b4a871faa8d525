// The ONNX model file mdprop writes (`mdprop export`): one graph from input `images` [N, C, H, W]
// (float32 pixels in [0, 1], N symbolic) to output `embeddings` [N, D] (L2-normalised), with the
// model's settings as metadata_props, all strings:
//   format          mdprop.onnx/1
//   arch, embed_dim, in_channels
//   image_size      side of the square input (the centre crop)
//   test_resize     shorter side to resize to before that crop
//   normalization   'mean-std' or 'none': what the graph does to the pixels first
//   mean, std       JSON arrays, one number per channel (0 and 1 for 'none')
//   branch          the batch-norm branch whose statistics the graph holds (0 = clean)
//   bn_folded       'true' when batch norms are folded into the convolutions before them
//   dataset, method what the model was trained on and with ('unknown' for weights from elsewhere)
//   epoch           the epoch of the weights, when known
//   mdprop_version  the version of mdprop that wrote the file
// The container is onnx-proto.ts; this module owns the metadata and the file.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ARCHS, type Arch } from '../nn/index.js';
import { writeFileAtomic } from '../torch/index.js';
import { FormatError, fieldPath } from './errors.js';
import { intText, MODEL_LIMITS } from './model-file.js';
import { decodeOnnxModel, encodeOnnxModel, type OnnxModel, type OnnxSummary } from './onnx-proto.js';

export const ONNX_FORMAT = 'mdprop.onnx/1';
/** The names of the graph's input and output. */
export const ONNX_IO = { input: 'images', output: 'embeddings' } as const;

const numberList = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'expected a JSON array of numbers' });
      return z.NEVER;
    }
  })
  .pipe(z.array(z.number().finite()).min(1).max(4));

export const onnxMetadataSchema = z.object({
  format: z.literal(ONNX_FORMAT),
  arch: z.enum(ARCHS as [Arch, ...Arch[]]),
  embed_dim: intText(MODEL_LIMITS.embedDim),
  in_channels: intText(4),
  image_size: intText(MODEL_LIMITS.imageSize),
  test_resize: intText(MODEL_LIMITS.imageSize),
  normalization: z.enum(['mean-std', 'none']),
  mean: numberList,
  std: numberList,
  branch: z.string().regex(/^\d+$/, 'expected a whole number').transform(Number),
  bn_folded: z.enum(['true', 'false']).transform((v) => v === 'true'),
  dataset: z.string().min(1),
  method: z.string().min(1),
  epoch: z.string().regex(/^\d+$/).transform(Number).optional(),
  mdprop_version: z.string().min(1),
});

export type OnnxMetadata = z.output<typeof onnxMetadataSchema>;

/** What the writer records about the model. */
export interface OnnxModelRecord {
  arch: Arch;
  embedDim: number;
  inChannels: number;
  imageSize: number;
  testResize: number;
  normalization: 'mean-std' | 'none';
  mean: readonly number[];
  std: readonly number[];
  branch: number;
  bnFolded: boolean;
  /** 'unknown' when not known. */
  dataset: string;
  method: string;
  epoch?: number;
  mdpropVersion: string;
}

/** The metadata_props of a record, in a fixed key order. */
export function onnxMetadataProps(r: OnnxModelRecord): Record<string, string> {
  return {
    format: ONNX_FORMAT,
    arch: r.arch,
    embed_dim: String(r.embedDim),
    in_channels: String(r.inChannels),
    image_size: String(r.imageSize),
    test_resize: String(r.testResize),
    normalization: r.normalization,
    mean: JSON.stringify(r.mean),
    std: JSON.stringify(r.std),
    branch: String(r.branch),
    bn_folded: String(r.bnFolded),
    dataset: r.dataset,
    method: r.method,
    ...(r.epoch === undefined ? {} : { epoch: String(r.epoch) }),
    mdprop_version: r.mdpropVersion,
  };
}

/** Writes the model atomically (temp file + rename); returns its size in bytes. */
export function writeOnnxFile(path: string, model: OnnxModel): number {
  const bytes = encodeOnnxModel(model);
  writeFileAtomic(path, [bytes]);
  return bytes.byteLength;
}

export interface OnnxFile {
  summary: OnnxSummary;
  /** mdprop's settings; null for an ONNX file mdprop did not write. */
  metadata: OnnxMetadata | null;
}

/** Reads an .onnx file's structure and, when mdprop wrote it, its settings (checked by the schema). */
export function readOnnxFile(path: string): OnnxFile {
  let summary: OnnxSummary;
  try {
    summary = decodeOnnxModel(readFileSync(path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FormatError(path, null, code === 'ENOENT' ? 'file not found' : `not an ONNX model (${(err as Error).message})`);
  }
  if (summary.metadata.format === undefined) return { summary, metadata: null };
  const parsed = onnxMetadataSchema.safeParse(summary.metadata);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new FormatError(path, `metadata_props.${fieldPath(issue.path)}`, issue.message);
  }
  return { summary, metadata: parsed.data };
}
