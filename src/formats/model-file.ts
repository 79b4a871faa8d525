// The model file: the one writer and the one reader of trained weights.
//   X.safetensors      the clean branch (BN branch 0) under torchvision's names, so torchvision and
//                      any safetensors tool load it as a plain ResNet; metadata (all strings):
//                      format, arch, embed_dim, in_channels, image_size, test_resize, method,
//                      dataset, epoch, and the metrics it was chosen by.
//   X.aux.safetensors  the auxiliary BN branches of the same epoch (`...aux.<k-1>...` keys), written
//                      beside it when the model has them, so a branch K > 0 is evaluated with the
//                      very weights of branch 0.
// Files from elsewhere (no metadata) load too when arch and embedding size are given. The reader
// is model-load.ts.
import { z } from 'zod';
import { ARCHS, type Arch, type EmbeddingModel } from '../nn/index.js';
import { onDevice, tidy, writeSafetensors, type Tensor } from '../torch/index.js';

export const MODEL_FORMAT = 'mdprop.model/1';

/** Sizes beyond these belong to no real model; checking them first keeps a hostile header from allocating. */
export const MODEL_LIMITS = { embedDim: 8192, imageSize: 8192, branches: 64 } as const;

const intText = (max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().int().positive().max(max));

export const modelMetadataSchema = z.object({
  format: z.literal(MODEL_FORMAT),
  arch: z.enum(ARCHS as [Arch, ...Arch[]]),
  embed_dim: intText(MODEL_LIMITS.embedDim),
  in_channels: intText(4),
  image_size: intText(MODEL_LIMITS.imageSize).optional(),
  test_resize: intText(MODEL_LIMITS.imageSize).optional(),
  /** Input scaling the model was trained with ('mean-std' when absent). */
  normalization: z.enum(['mean-std', 'none']).optional(),
  method: z.string().optional(),
  dataset: z.string().optional(),
  epoch: z.string().regex(/^\d+$/).transform(Number).optional(),
});

export type ModelMetadata = z.output<typeof modelMetadataSchema>;

/** What the writer records besides the tensors. */
export interface ModelRecord {
  arch: Arch;
  embedDim: number;
  inChannels: number;
  imageSize: number;
  testResize: number;
  /** Input scaling ('mean-std' or 'none'); recorded only when it is not the default. */
  normalization?: 'mean-std' | 'none';
  method: string;
  dataset: string;
  epoch: number;
  /** Metrics of the epoch (e.g. recall@1), kept for people reading the file. */
  metrics?: Record<string, number>;
}

export const AUX_KEY = /(^|\.)aux\.(\d+)\./;

export function isAuxKey(name: string): boolean {
  return AUX_KEY.test(name);
}

/** The file of the auxiliary branches that belongs to a model file. */
export function auxFileOf(path: string): string {
  return `${path.replace(/\.safetensors$/, '')}.aux.safetensors`;
}

/** Writes the model (branch 0) and, when it has auxiliary BN branches, their file beside it. */
export function writeModelFile(path: string, model: EmbeddingModel, record: ModelRecord): void {
  const metadata: Record<string, string> = {
    format: MODEL_FORMAT,
    arch: record.arch,
    embed_dim: String(record.embedDim),
    in_channels: String(record.inChannels),
    image_size: String(record.imageSize),
    test_resize: String(record.testResize),
    ...(record.normalization === undefined || record.normalization === 'mean-std' ? {} : { normalization: record.normalization }),
    method: record.method,
    dataset: record.dataset,
    epoch: String(record.epoch),
    ...Object.fromEntries(Object.entries(record.metrics ?? {}).map(([k, v]) => [k, String(v)])),
  };
  tidy(() => {
    const main = new Map<string, Tensor>();
    const aux = new Map<string, Tensor>();
    for (const [name, t] of model.stateDict()) (isAuxKey(name) ? aux : main).set(name, onDevice(t, 'cpu'));
    // The aux file first: a crash between the two writes leaves epochs that differ, which the reader detects.
    if (aux.size > 0) writeSafetensors(auxFileOf(path), aux, { format: MODEL_FORMAT, epoch: metadata.epoch! });
    writeSafetensors(path, main, metadata);
  });
}


