// The model file: the one writer and the one reader of trained weights.
//   X.safetensors      the clean branch (BN branch 0) under torchvision's names, so torchvision and
//                      any safetensors tool load it as a plain ResNet; metadata (all strings):
//                      format, arch, embed_dim, in_channels, image_size, test_resize, method,
//                      dataset, epoch, and the metrics it was chosen by.
//   X.aux.safetensors  the auxiliary BN branches of the same epoch (`...aux.<k-1>...` keys), written
//                      beside it when the model has them, so a branch K > 0 is evaluated with the
//                      very weights of branch 0.
// Files from elsewhere (no metadata) load too when arch and embedding size are given.
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { ARCHS, bnBranchCount, convertToMultiBatchNorm, createModel, setBnRouting, type Arch, type EmbeddingModel } from '../nn/index.js';
import { dispose, readSafetensors, tidy, writeSafetensors, type Tensor } from '../torch/index.js';
import { FormatError, fieldPath } from './errors.js';

export const MODEL_FORMAT = 'mdprop.model/1';

/** Sizes beyond these belong to no real model; checking them first keeps a hostile header from allocating. */
const LIMITS = { embedDim: 65536, imageSize: 8192, branches: 64 } as const;

const intText = (max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().int().positive().max(max));

export const modelMetadataSchema = z.object({
  format: z.literal(MODEL_FORMAT),
  arch: z.enum(ARCHS as [Arch, ...Arch[]]),
  embed_dim: intText(LIMITS.embedDim),
  in_channels: intText(4),
  image_size: intText(LIMITS.imageSize).optional(),
  test_resize: intText(LIMITS.imageSize).optional(),
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
  method: string;
  dataset: string;
  epoch: number;
  /** Metrics of the epoch (e.g. recall@1), kept for people reading the file. */
  metrics?: Record<string, number>;
}

const AUX_KEY = /(^|\.)aux\.(\d+)\./;

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
    method: record.method,
    dataset: record.dataset,
    epoch: String(record.epoch),
    ...Object.fromEntries(Object.entries(record.metrics ?? {}).map(([k, v]) => [k, String(v)])),
  };
  tidy(() => {
    const main = new Map<string, Tensor>();
    const aux = new Map<string, Tensor>();
    for (const [name, t] of model.stateDict()) (isAuxKey(name) ? aux : main).set(name, t.device === 'cpu' ? t : t.to('cpu'));
    // The aux file first: a crash between the two writes leaves epochs that differ, which the reader detects.
    if (aux.size > 0) writeSafetensors(auxFileOf(path), aux, { format: MODEL_FORMAT, epoch: metadata.epoch! });
    writeSafetensors(path, main, metadata);
  });
}

export interface ModelRequest {
  /** Needed when the file records no architecture (weights from elsewhere); must agree with it otherwise. */
  arch?: string;
  embedDim?: number;
  inChannels?: number;
  /** The BN branch to embed with (0 = clean; K > 0 reads the aux file). Default 0. */
  branch?: number;
}

export interface LoadedModel {
  /** In eval mode, routed to the requested branch. */
  model: EmbeddingModel;
  path: string;
  arch: Arch;
  embedDim: number;
  inChannels: number;
  /** BN branches the file (with its aux file) holds. */
  branches: number;
  branch: number;
  /** The metadata an mdprop-written file carries; null for files from elsewhere. */
  metadata: ModelMetadata | null;
}

function readTensors(path: string): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  if (!existsSync(path)) throw new FormatError(path, null, 'model file not found');
  try {
    return readSafetensors(path);
  } catch (err) {
    throw new FormatError(path, null, (err as Error).message.replace(`${path}: `, ''));
  }
}

function parseMetadata(path: string, raw: Record<string, string>): ModelMetadata | null {
  if (raw.format === undefined && raw.arch === undefined) return null;
  const parsed = modelMetadataSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new FormatError(path, `metadata.${fieldPath(issue.path)}`, issue.message);
  }
  return parsed.data;
}

/** A value the caller gives and the file records must agree; either may be missing. */
function agree<V>(path: string, what: string, given: V | undefined, recorded: V | undefined): V | undefined {
  if (given !== undefined && recorded !== undefined && given !== recorded) {
    throw new FormatError(path, `metadata.${what}`, `the file records ${String(recorded)}, ${String(given)} was asked for`);
  }
  return given ?? recorded;
}

function branchesIn(state: ReadonlyMap<string, Tensor>): number {
  let branches = 1;
  for (const name of state.keys()) {
    const match = AUX_KEY.exec(name);
    if (match) branches = Math.max(branches, Number(match[2]) + 2);
  }
  return branches;
}

/** Reads a model file (and its aux file for a branch K > 0), builds the model and loads it strictly. */
export function loadModelFile(path: string, request: ModelRequest = {}): LoadedModel {
  const file = readTensors(path);
  const held: Map<string, Tensor>[] = [file.tensors];
  try {
    const metadata = parseMetadata(path, file.metadata);
    const state = new Map(file.tensors);
    if (state.size === 0) throw new FormatError(path, null, 'holds no tensors');
    const branch = request.branch ?? 0;
    if (branch > 0 && branchesIn(state) === 1) {
      const auxPath = auxFileOf(path);
      if (!existsSync(auxPath)) throw new FormatError(path, null, `BN branch ${branch} was asked for; the model has no auxiliary branches (no ${auxPath})`);
      const aux = readTensors(auxPath);
      held.push(aux.tensors);
      if (metadata?.epoch !== undefined && aux.metadata.epoch !== String(metadata.epoch)) {
        throw new FormatError(auxPath, 'metadata.epoch', `is ${aux.metadata.epoch ?? 'missing'}, the model file is of epoch ${metadata.epoch}`);
      }
      for (const [k, t] of aux.tensors) state.set(k, t);
    }
    const conv1 = state.get('conv1.weight');
    const fc = state.get('fc.weight');
    const arch = agree(path, 'arch', request.arch, metadata?.arch);
    if (arch === undefined) throw new FormatError(path, null, `the architecture is not recorded; give arch (${ARCHS.join(', ')})`);
    if (!(ARCHS as string[]).includes(arch)) throw new FormatError(path, 'arch', `unknown architecture '${arch}'; expected one of ${ARCHS.join(', ')}`);
    // Shapes only fill in what neither the caller nor the metadata says; a disagreement with them is the state dict's to report.
    const embedDim = agree(path, 'embed_dim', request.embedDim, metadata?.embed_dim) ?? (fc?.ndim === 2 ? fc.size(0) : undefined);
    if (embedDim === undefined) throw new FormatError(path, null, 'the embedding dimension is not recorded; give embedDim');
    if (!(embedDim >= 1 && embedDim <= LIMITS.embedDim)) throw new FormatError(path, 'embed_dim', `${embedDim} is outside 1..${LIMITS.embedDim}`);
    const inChannels = agree(path, 'in_channels', request.inChannels, metadata?.in_channels) ?? (conv1?.ndim === 4 ? conv1.size(1) : undefined) ?? 3;
    if (!(inChannels >= 1 && inChannels <= 4)) throw new FormatError(path, 'in_channels', `${inChannels} is outside 1..4`);
    const branches = branchesIn(state);
    if (branches > LIMITS.branches) throw new FormatError(path, null, `names ${branches} BN branches; at most ${LIMITS.branches} are supported`);
    if (branch >= branches) throw new FormatError(path, null, `BN branch ${branch} was asked for; the file holds ${branches} branch${branches === 1 ? '' : 'es'}`);
    const model = createModel({ arch: arch as Arch, embedDim, inChannels });
    try {
      if (branches > 1) convertToMultiBatchNorm(model, branches);
      model.loadStateDict(state);
      model.eval();
      if (bnBranchCount(model) > 1) setBnRouting(model, { kind: 'branch', branch });
    } catch (err) {
      model.dispose();
      throw new FormatError(path, null, (err as Error).message);
    }
    return { model, path, arch: arch as Arch, embedDim, inChannels, branches, branch, metadata };
  } finally {
    for (const tensors of held) dispose(tensors);
  }
}
