// What a robustness evaluation reads from a trained run, and the model it rebuilds.
// From <run>/config.json (written by `mdprop train`) only these fields, each optional here:
//   dataset, dataRoot, arch, embedDim, channels, imageSize (test centre crop), testResize,
//   method, seed
// From the weights: <run>/model.safetensors (branch 0 with torchvision names; metadata arch,
// embed_dim, image_size, test_resize, dataset) or, for a BN branch K > 0,
// <run>/checkpoint/model.safetensors (every branch). The input channels come from conv1.weight.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ARCHS, convertToMultiBatchNorm, createModel, isArch, setBnRouting, type Arch, type EmbeddingModel } from '../nn/index.js';
import { dispose, readSafetensors, type Tensor } from '../torch/index.js';

export interface RunSettings {
  dataset?: string;
  dataRoot?: string;
  arch?: string;
  embedDim?: number;
  channels?: number;
  imageSize?: number;
  testResize?: number;
  method?: string;
  seed?: number;
}

/** A run directory or weights that cannot be used; the message names the file and field. */
export class ModelSourceError extends Error {
  override name = 'ModelSourceError';
}

export const RUN_CONFIG = 'config.json';
export const RUN_WEIGHTS = 'model.safetensors';
/** Where the full state (auxiliary BN branches included) lives, newest first. */
export const CHECKPOINT_WEIGHTS = ['checkpoint/model.safetensors', 'checkpoint.prev/model.safetensors'];

export function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

/** The fields of <run>/config.json an evaluation uses. */
export function readRunSettings(runDir: string): RunSettings {
  const path = join(runDir, RUN_CONFIG);
  if (!isFile(path)) throw new ModelSourceError(`${runDir}: not a run directory (no ${RUN_CONFIG})`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ModelSourceError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ModelSourceError(`${path}: expected a JSON object`);
  const config = raw as Record<string, unknown>;
  const text = (field: string): string | undefined => {
    const v = config[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v === '') throw new ModelSourceError(`${path}: field '${field}' must be a non-empty string, got ${JSON.stringify(v)}`);
    return v;
  };
  const count = (field: string, min: number): number | undefined => {
    const v = config[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new ModelSourceError(`${path}: field '${field}' must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return v;
  };
  const settings: RunSettings = {
    dataset: text('dataset'),
    dataRoot: text('dataRoot'),
    arch: text('arch'),
    embedDim: count('embedDim', 1),
    channels: count('channels', 1),
    imageSize: count('imageSize', 1),
    testResize: count('testResize', 1),
    method: text('method'),
    seed: count('seed', 0),
  };
  return Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)) as RunSettings;
}

/** The full-state weights of a run (for BN branches > 0), or null when it has no checkpoint. */
export function checkpointWeights(runDir: string): string | null {
  for (const rel of CHECKPOINT_WEIGHTS) if (isFile(join(runDir, rel))) return join(runDir, rel);
  return null;
}

export interface WeightsInfo {
  arch?: string;
  embedDim?: number;
  /** Channels of conv1.weight. */
  inChannels?: number;
  /** What `mdprop train` records of the data (metadata dataset, image_size, test_resize). */
  dataset?: string;
  imageSize?: number;
  testResize?: number;
  /** 1 + the auxiliary BN branches found (keys `...aux.<k>...`). */
  branches: number;
}

/** Metadata and shapes of a weights file: what it says about the model it belongs to. */
export function weightsInfo(path: string, state: ReadonlyMap<string, Tensor>, metadata: Record<string, string>): WeightsInfo {
  const info: WeightsInfo = { branches: 1 };
  const count = (...keys: string[]): number | undefined => {
    for (const key of keys) {
      const n = Number(metadata[key]);
      if (metadata[key] !== undefined && Number.isInteger(n) && n > 0) return n;
    }
    return undefined;
  };
  if (metadata.arch) info.arch = metadata.arch;
  if (metadata.dataset) info.dataset = metadata.dataset;
  const imageSize = count('image_size', 'imageSize');
  if (imageSize) info.imageSize = imageSize;
  const testResize = count('test_resize', 'testResize');
  if (testResize) info.testResize = testResize;
  const dim = count('embed_dim', 'embedDim');
  if (dim) info.embedDim = dim;
  else if (state.get('fc.weight')?.ndim === 2) info.embedDim = state.get('fc.weight')!.size(0);
  const conv1 = state.get('conv1.weight');
  if (conv1?.ndim === 4) info.inChannels = conv1.size(1);
  for (const name of state.keys()) {
    const match = /\.aux\.(\d+)\./.exec(name);
    if (match) info.branches = Math.max(info.branches, Number(match[1]) + 2);
  }
  if (state.size === 0) throw new ModelSourceError(`${path}: holds no tensors`);
  return info;
}

export interface ModelRequest {
  weights: string;
  /** Override what the weights' metadata say. */
  arch?: string;
  embedDim?: number;
  inChannels?: number;
  /** The BN branch to evaluate with (0 = clean). */
  branch: number;
}

export interface LoadedModel {
  model: EmbeddingModel;
  info: WeightsInfo;
  arch: Arch;
  embedDim: number;
  inChannels: number;
  branches: number;
}

/** Builds the model, loads the weights (strictly) and routes every BN to `branch`, in eval mode. */
export function loadModel(request: ModelRequest): LoadedModel {
  if (!isFile(request.weights)) throw new ModelSourceError(`${request.weights}: weights file not found`);
  let file;
  try {
    file = readSafetensors(request.weights);
  } catch (err) {
    throw new ModelSourceError(`${request.weights}: ${(err as Error).message}`);
  }
  try {
    const info = weightsInfo(request.weights, file.tensors, file.metadata);
    const arch = request.arch ?? info.arch;
    if (arch === undefined) throw new ModelSourceError(`${request.weights}: the architecture is not recorded; give --arch (${ARCHS.join(', ')})`);
    if (!isArch(arch)) throw new ModelSourceError(`unknown architecture '${arch}'; expected one of ${ARCHS.join(', ')}`);
    const embedDim = request.embedDim ?? info.embedDim;
    if (embedDim === undefined) throw new ModelSourceError(`${request.weights}: the embedding dimension is not recorded; give --embed-dim`);
    const inChannels = request.inChannels ?? info.inChannels ?? 3;
    if (request.branch >= info.branches) {
      throw new ModelSourceError(`${request.weights}: BN branch ${request.branch} requested, the weights hold ${info.branches} branch${info.branches === 1 ? '' : 'es'}`);
    }
    const model = createModel({ arch, embedDim, inChannels });
    try {
      convertToMultiBatchNorm(model, info.branches);
      model.loadStateDict(file.tensors);
      model.eval();
      setBnRouting(model, { kind: 'branch', branch: request.branch });
    } catch (err) {
      model.dispose();
      throw new ModelSourceError(`${request.weights}: ${(err as Error).message}`);
    }
    return { model, info, arch, embedDim, inChannels, branches: info.branches };
  } finally {
    dispose(file.tensors);
  }
}
