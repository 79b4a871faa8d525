// Embedding files: safetensors with `embeddings` (float32 [N, D]) and, optionally, `labels`
// (int64 [N]) and metadata `paths` (a JSON array of the images' relative paths, row order).
// `mdprop embed` writes them; `mdprop metrics` and library users read them.
import { existsSync, statSync } from 'node:fs';
import { dispose, readSafetensors, tensor, tidy, writeSafetensors, type Tensor } from '../torch/index.js';
import { FormatError } from './errors.js';

export interface EmbeddingsRecord {
  /** Row-major [n, dim]. */
  rows: Float32Array;
  dim: number;
  paths?: readonly string[];
  labels?: ArrayLike<number>;
}

export function writeEmbeddingsFile(path: string, record: EmbeddingsRecord): void {
  const n = record.rows.length / record.dim;
  const tensors: Record<string, Tensor> = { embeddings: tensor(record.rows, [n, record.dim]) };
  if (record.labels) tensors.labels = tidy(() => tensor(Int32Array.from(record.labels!), [n]).to('int64'));
  try {
    writeSafetensors(path, tensors, record.paths ? { paths: JSON.stringify(record.paths) } : {});
  } finally {
    dispose(Object.values(tensors));
  }
}

const describe = (t: Tensor) => `${t.dtype} [${t.shape.join(', ')}]`;

function readTensor(path: string, name: string): Tensor {
  if (!existsSync(path) || !statSync(path).isFile()) throw new FormatError(path, null, 'file not found');
  let tensors: Map<string, Tensor>;
  try {
    tensors = readSafetensors(path).tensors;
  } catch (err) {
    throw new FormatError(path, null, (err as Error).message.replace(`${path}: `, ''));
  }
  const wanted = tensors.get(name);
  for (const [other, t] of tensors) if (other !== name) t.dispose();
  if (!wanted) throw new FormatError(path, null, `no tensor '${name}' (found: ${[...tensors.keys()].join(', ') || 'none'})`);
  return wanted;
}

/** Embeddings [N, D] float32 and labels [N] int64 (from the same file unless `labelsPath` is given); the caller owns both. */
export function readEmbeddingsFile(path: string, labelsPath = path): { embeddings: Tensor; labels: Tensor } {
  const embeddings = readTensor(path, 'embeddings');
  let labels: Tensor | undefined;
  try {
    if (embeddings.dtype !== 'float32' || embeddings.ndim !== 2) throw new FormatError(path, null, `tensor 'embeddings' must be float32 [N, D], got ${describe(embeddings)}`);
    labels = readTensor(labelsPath, 'labels');
    if (labels.dtype !== 'int64' || labels.ndim !== 1) throw new FormatError(labelsPath, null, `tensor 'labels' must be int64 [N], got ${describe(labels)}`);
    if (labels.size(0) !== embeddings.size(0)) {
      throw new FormatError(labelsPath, null, `tensor 'labels' has ${labels.size(0)} entries but tensor 'embeddings' in ${path} has ${embeddings.size(0)} rows`);
    }
    if (embeddings.size(0) < 2) throw new FormatError(path, null, `tensor 'embeddings' needs at least 2 rows, got ${embeddings.size(0)}`);
    return { embeddings, labels };
  } catch (err) {
    dispose([embeddings, labels]);
    throw err;
  }
}
