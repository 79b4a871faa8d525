// Reading a model file (model-file.ts describes it), or weights from elsewhere (safetensors or a
// PyTorch .pth, with the allowances of src/nn/load-rules.ts). Nothing is allocated for a safetensors file until its
// header has been checked: the safetensors reader checks the byte layout, then every entry's name,
// shape and dtype is compared with the state dict the recorded (or requested) architecture would
// have. Only then are the tensors read and the model built, so a few hostile bytes cannot make
// mdprop build a model of their choosing.
import { existsSync } from 'node:fs';
import { ARCHS, bnBranchCount, convertToMultiBatchNorm, createModel, describeReport, isBatchCounter, modelNames, modelStateShapes, setBnRouting, type Arch, type EmbeddingModel, type LoadReport } from '../nn/index.js';
import { describeNonFinite, dispose, firstNonFinite, isPytorchCheckpoint, readPytorchCheckpoint, readSafetensors, readSafetensorsHeader, type SafetensorsHeader, type Tensor } from '../torch/index.js';
import { FormatError, fieldPath } from './errors.js';
import { AUX_KEY, auxFileOf, MODEL_LIMITS, modelMetadataSchema, type ModelMetadata } from './model-file.js';

export interface ModelRequest {
  /** Needed when the file records no architecture (weights from elsewhere); must agree with it otherwise. */
  arch?: string;
  embedDim?: number;
  inChannels?: number;
  /** The BN branch to embed with (0 = clean; K > 0 reads the aux file). Default 0. */
  branch?: number;
  /** Also read the aux file beside it (if there is one) for branch 0, so every branch is loaded (the detector compares them). */
  allBranches?: boolean;
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

/**
 * Tensors already read for a header: a PyTorch checkpoint (.pth) has no header to check first, so
 * it is read whole (its pickle must be interpreted) and then checked like a safetensors header.
 */
const preloaded = new WeakMap<SafetensorsHeader, Map<string, Tensor>>();

function readPytorchHeader(path: string): SafetensorsHeader {
  let tensors: Map<string, Tensor>;
  try {
    tensors = readPytorchCheckpoint(path).tensors;
  } catch (err) {
    throw new FormatError(path, null, (err as Error).message.replace(`${path}: `, ''));
  }
  const entries = new Map([...tensors].map(([name, t]) => [name, { dtype: t.dtype, shape: [...t.shape], begin: 0, end: 0 }]));
  const header: SafetensorsHeader = { path, entries, metadata: {}, dataStart: 0 };
  preloaded.set(header, tensors);
  return header;
}

function readHeader(path: string): SafetensorsHeader {
  if (!existsSync(path)) throw new FormatError(path, null, 'model file not found');
  if (isPytorchCheckpoint(path)) return readPytorchHeader(path);
  try {
    return readSafetensorsHeader(path);
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

/** BN branches the names imply; a name beyond the limit is reported by name, not counted. */
function branchesIn(path: string, names: Iterable<string>): number {
  let branches = 1;
  for (const name of names) {
    const match = AUX_KEY.exec(name);
    if (!match) continue;
    const k = Number(match[2]) + 2;
    if (k > MODEL_LIMITS.branches) throw new FormatError(path, name, `names BN branch ${match[2]!.length > 12 ? `${match[2]!.slice(0, 12)}...` : k - 1}; at most ${MODEL_LIMITS.branches} branches are supported`);
    branches = Math.max(branches, k);
  }
  return branches;
}

function inRange(path: string, field: string, value: number, max: number): number {
  if (!(Number.isInteger(value) && value >= 1 && value <= max)) throw new FormatError(path, field, `${value} is outside 1..${max}`);
  return value;
}

/** Compares the headers' entries with the state dict the model would have; throws naming the entries at fault. */
function checkEntries(files: readonly SafetensorsHeader[], expected: ReturnType<typeof modelStateShapes>, rename: ReadonlyMap<string, string>): void {
  const report: LoadReport = { missing: [], unexpected: [], mismatched: [] };
  const dtypes: string[] = [];
  const found = new Map(files.flatMap((f) => [...f.entries].map(([name, entry]) => [rename.get(name) ?? name, entry] as const)));
  // In the model's order, as the loader of a state dict reports them.
  for (const [name, want] of expected) {
    const entry = found.get(name);
    if (!entry && isBatchCounter(name)) continue; // absent counters keep the model's (src/nn/load-rules.ts)
    if (!entry) report.missing.push(name);
    else if (want.shape.length !== entry.shape.length || want.shape.some((d, i) => d !== entry.shape[i])) report.mismatched.push({ name, expected: want.shape, got: entry.shape });
    else if (want.dtype !== entry.dtype) dtypes.push(`${name} (model ${want.dtype}, file ${entry.dtype})`);
  }
  for (const name of found.keys()) if (!expected.has(name)) report.unexpected.push(name);
  if (report.missing.length + report.unexpected.length + report.mismatched.length + dtypes.length === 0) return;
  const lines = [describeReport(report)];
  if (dtypes.length) lines.push(`  dtype mismatches (${dtypes.length}): ${dtypes.slice(0, 20).join(', ')}`);
  throw new FormatError(files.map((f) => f.path).join(' + '), null, lines.join('\n'));
}

/** Reads a model file (and its aux file for a branch K > 0), checks it whole, then builds the model and loads it. */
export function loadModelFile(path: string, request: ModelRequest = {}): LoadedModel {
  const main = readHeader(path);
  try {
    return loadChecked(path, main, request);
  } finally {
    const tensors = preloaded.get(main);
    if (tensors) dispose(tensors);
  }
}

function loadChecked(path: string, main: SafetensorsHeader, request: ModelRequest): LoadedModel {
  const metadata = parseMetadata(path, main.metadata);
  if (main.entries.size === 0) throw new FormatError(path, null, 'holds no tensors');
  const branch = request.branch ?? 0;
  if (!(Number.isInteger(branch) && branch >= 0 && branch < MODEL_LIMITS.branches)) throw new FormatError(path, null, `BN branch ${branch} was asked for; branches are 0..${MODEL_LIMITS.branches - 1}`);
  const headers = [main];
  const wanted = branch > 0 || (request.allBranches === true && existsSync(auxFileOf(path)));
  if (wanted && branchesIn(path, main.entries.keys()) === 1) {
    const auxPath = auxFileOf(path);
    if (!existsSync(auxPath)) throw new FormatError(path, null, `BN branch ${branch} was asked for; the model has no auxiliary branches (no ${auxPath})`);
    const aux = readHeader(auxPath);
    if (metadata?.epoch !== undefined && aux.metadata.epoch !== String(metadata.epoch)) {
      throw new FormatError(auxPath, 'metadata.epoch', `is ${aux.metadata.epoch ?? 'missing'}, the model file is of epoch ${metadata.epoch}`);
    }
    headers.push(aux);
  }
  const names = headers.flatMap((h) => [...h.entries.keys()]);
  // Weights from elsewhere may carry a DataParallel `module.` prefix; mdprop's own files never do.
  const rename = metadata === null ? modelNames(names).names : new Map<string, string>();
  const fileName = new Map([...rename].map(([file, model]) => [model, file]));
  const shapeOf = (name: string) => {
    const key = fileName.get(name) ?? name;
    return headers.find((h) => h.entries.has(key))?.entries.get(key)?.shape;
  };
  const arch = agree(path, 'arch', request.arch, metadata?.arch);
  if (arch === undefined) throw new FormatError(path, null, `the architecture is not recorded; give arch (${ARCHS.join(', ')})`);
  if (!(ARCHS as string[]).includes(arch)) throw new FormatError(path, 'arch', `unknown architecture '${arch}'; expected one of ${ARCHS.join(', ')}`);
  // Shapes only fill in what neither the caller nor the metadata says; the entry check below reports any disagreement.
  const fc = shapeOf('fc.weight');
  const conv1 = shapeOf('conv1.weight');
  const embedDim = agree(path, 'embed_dim', request.embedDim, metadata?.embed_dim) ?? (fc?.length === 2 ? fc[0] : undefined);
  if (embedDim === undefined) throw new FormatError(path, null, 'the embedding dimension is not recorded; give embedDim');
  inRange(path, 'embed_dim', embedDim, MODEL_LIMITS.embedDim);
  const inChannels = agree(path, 'in_channels', request.inChannels, metadata?.in_channels) ?? (conv1?.length === 4 ? conv1[1] : undefined) ?? 3;
  inRange(path, 'in_channels', inChannels, 4);
  const branches = branchesIn(path, names);
  if (branch >= branches) throw new FormatError(path, null, `BN branch ${branch} was asked for; the file holds ${branches} branch${branches === 1 ? '' : 'es'}`);
  checkEntries(headers, modelStateShapes({ arch: arch as Arch, embedDim, inChannels }, branches), rename);
  return build(headers, rename, { path, arch: arch as Arch, embedDim, inChannels, branches, branch, metadata });
}

function build(headers: readonly SafetensorsHeader[], rename: ReadonlyMap<string, string>, info: Omit<LoadedModel, 'model'>): LoadedModel {
  const held: Map<string, Tensor>[] = [];
  try {
    const state = new Map<string, Tensor>();
    for (const header of headers) {
      const tensors = preloaded.get(header) ?? readSafetensors(header.path, undefined, header).tensors;
      held.push(tensors);
      const bad = firstNonFinite(tensors);
      if (bad) throw new FormatError(header.path, bad.name, describeNonFinite(bad));
      for (const [k, t] of tensors) state.set(rename.get(k) ?? k, t);
    }
    const model = createModel({ arch: info.arch, embedDim: info.embedDim, inChannels: info.inChannels });
    try {
      if (info.branches > 1) convertToMultiBatchNorm(model, info.branches);
      const own = model.stateDict();
      held.push(own);
      for (const [k, t] of own) if (isBatchCounter(k) && !state.has(k)) state.set(k, t);
      model.loadStateDict(state);
      model.eval();
      if (bnBranchCount(model) > 1) setBnRouting(model, { kind: 'branch', branch: info.branch });
    } catch (err) {
      model.dispose();
      throw new FormatError(info.path, null, (err as Error).message);
    }
    return { model, ...info };
  } catch (err) {
    if (err instanceof FormatError) throw err;
    throw new FormatError(info.path, null, (err as Error).message.replace(`${info.path}: `, ''));
  } finally {
    for (const tensors of held) dispose(tensors);
  }
}
