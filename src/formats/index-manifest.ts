// A gallery index directory (what `mdprop index build` writes):
//   manifest.json               this schema: the model (file hash and input settings), the image
//                               sources, the embedding chunks, the item count, the ANN settings
//   embeddings/NNNNNN.safetensors  `embeddings` float32 [rows, D], L2-normalised, and metadata
//                               `items` (a JSON array of the chunk's items); each written
//                               atomically, so an interrupted build keeps every finished chunk
//   items.jsonl                 one item a line (schema below), id order; written once embedding ends
//   ann.usearch                 the HNSW graph (usearch's file), when the index has one
// Item ids are row numbers: chunks are listed in id order and are contiguous.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { readSafetensors, tensor, writeFileAtomic, writeSafetensors, type Tensor } from '../torch/index.js';
import { FormatError, fieldPath } from './errors.js';
import { readJsonFile, writeJsonFile } from './json-file.js';

export const INDEX_FORMAT = 'mdprop.index/1';

export const INDEX_FILES = {
  manifest: 'manifest.json',
  items: 'items.jsonl',
  chunks: 'embeddings',
  ann: 'ann.usearch',
} as const;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a SHA-256 in hex');
const count = z.number().int().nonnegative();

/** The model that made every embedding, and how it reads images. */
export const indexModelSchema = z.object({
  /** Where the model file was when the index was built (absolute). */
  file: z.string().min(1),
  /** SHA-256 of the model file's bytes: embeddings of another model are refused. */
  sha256,
  arch: z.string().min(1),
  embedDim: z.number().int().positive(),
  inChannels: z.number().int().positive(),
  branch: z.number().int().nonnegative(),
  resize: z.number().int().positive(),
  crop: z.number().int().positive(),
  channels: z.union([z.literal(1), z.literal(3)]),
  mean: z.array(z.number()),
  std: z.array(z.number()),
});

/** Where items came from: a folder of images (paths relative to it) or a dataset split (indices). */
export const indexSourceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('images'), root: z.string().min(1) }),
  z.object({ kind: z.literal('dataset'), dataset: z.string().min(1), split: z.string().min(1), root: z.string().optional() }),
]);

export const indexItemSchema = z
  .object({
    id: count,
    /** Position of the item's source in the manifest's `sources`. */
    source: count,
    /** For a folder source: the path relative to its root, '/'-separated. */
    path: z.string().optional(),
    /** For a dataset source: the image's index in its split. */
    index: count.optional(),
    /** Class name, when the source knows it (a folder's top-level subfolder, a dataset's class). */
    label: z.string().optional(),
    /** SHA-256 of the file's bytes (or of a dataset image's pixels). */
    sha256,
  })
  .refine((item) => (item.path === undefined) !== (item.index === undefined), { message: 'an item has a path or a dataset index, not both' });

export const indexChunkSchema = z.object({
  /** Relative to the index directory. */
  file: z.string().min(1),
  first: count,
  rows: z.number().int().positive(),
});

export const indexAnnSchema = z.object({
  kind: z.literal('hnsw'),
  library: z.literal('usearch'),
  /** Inner product on L2-normalised rows: 1 - cosine. */
  metric: z.literal('ip'),
  connectivity: z.number().int().positive(),
  expansionAdd: z.number().int().positive(),
  expansionSearch: z.number().int().positive(),
  file: z.string().min(1),
  /** Items in the graph; equals `count` when the index is ready. */
  items: count,
});

export const indexManifestSchema = z.object({
  format: z.literal(INDEX_FORMAT),
  /** 'building' until every planned item is embedded (and the ANN graph built); then 'ready'. */
  state: z.enum(['building', 'ready']),
  model: indexModelSchema,
  dim: z.number().int().positive(),
  /** Items embedded so far (the rows of all chunks). */
  count,
  sources: z.array(indexSourceSchema).min(1),
  chunks: z.array(indexChunkSchema),
  /** While building: the source being embedded, its first item id, its item total and a hash of its item list. */
  pending: z.object({ source: count, first: count, total: count, plan: sha256, chunkRows: z.number().int().positive() }).nullable(),
  ann: indexAnnSchema.nullable(),
  /** ANN requested at build time ('exact': none). */
  search: z.enum(['exact', 'hnsw']),
  created: z.string(),
  mdprop: z.string(),
});

export type IndexManifest = z.output<typeof indexManifestSchema>;
export type IndexModel = z.output<typeof indexModelSchema>;
export type IndexSource = z.output<typeof indexSourceSchema>;
export type IndexItem = z.output<typeof indexItemSchema>;
export type IndexChunk = z.output<typeof indexChunkSchema>;
export type IndexAnn = z.output<typeof indexAnnSchema>;

/** The chunk file of chunk number `n`. */
export function chunkFileName(n: number): string {
  return `${INDEX_FILES.chunks}/${String(n).padStart(6, '0')}.safetensors`;
}

// ---- reading and writing ------------------------------------------------------------------------

export function hasIndexManifest(dir: string): boolean {
  return existsSync(join(dir, INDEX_FILES.manifest));
}

export function readIndexManifest(dir: string): IndexManifest {
  const file = join(dir, INDEX_FILES.manifest);
  if (!existsSync(file)) throw new FormatError(dir, null, `not an index: no ${INDEX_FILES.manifest}`);
  return readJsonFile(file, indexManifestSchema);
}

/** Atomic: an interrupted write leaves the previous manifest. */
export function writeIndexManifest(dir: string, manifest: IndexManifest): void {
  writeJsonFile(join(dir, INDEX_FILES.manifest), indexManifestSchema.parse(manifest));
}

function parseItems(file: string, text: string): IndexItem[] {
  let items: unknown;
  try {
    items = JSON.parse(text);
  } catch (err) {
    throw new FormatError(file, null, `items are not valid JSON (${(err as Error).message})`);
  }
  const parsed = z.array(indexItemSchema).safeParse(items);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new FormatError(file, `items.${fieldPath(issue.path)}`, issue.message);
  }
  return parsed.data;
}

/** Writes one chunk of embeddings (row-major [items.length, dim]) with its items, atomically. */
export function writeIndexChunk(dir: string, file: string, rows: Float32Array, dim: number, items: readonly IndexItem[]): void {
  const t = tensor(rows, [items.length, dim]);
  try {
    writeSafetensors(join(dir, file), { embeddings: t }, { format: INDEX_FORMAT, items: JSON.stringify(items) });
  } finally {
    t.dispose();
  }
}

/** Reads a chunk the manifest lists, checking its shape and items against the listing. */
export function readIndexChunk(dir: string, chunk: IndexChunk, dim: number): { rows: Float32Array; items: IndexItem[] } {
  const file = join(dir, chunk.file);
  if (!existsSync(file)) throw new FormatError(file, null, 'chunk file not found (the manifest lists it)');
  let tensors: Map<string, Tensor>;
  let metadata: Record<string, string>;
  try {
    ({ tensors, metadata } = readSafetensors(file));
  } catch (err) {
    throw new FormatError(file, null, (err as Error).message.replace(`${file}: `, ''));
  }
  try {
    const t = tensors.get('embeddings');
    if (!t || t.dtype !== 'float32' || t.ndim !== 2 || t.size(0) !== chunk.rows || t.size(1) !== dim) {
      throw new FormatError(file, 'embeddings', `expected float32 [${chunk.rows}, ${dim}], got ${t ? `${t.dtype} [${t.shape.join(', ')}]` : 'none'}`);
    }
    const items = parseItems(file, metadata.items ?? 'null');
    if (items.length !== chunk.rows || items.some((item, i) => item.id !== chunk.first + i)) {
      throw new FormatError(file, 'items', `expected ids ${chunk.first}..${chunk.first + chunk.rows - 1}`);
    }
    return { rows: t.toFloat32Array(), items };
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

/** items.jsonl: one item a line, in id order. */
export function writeIndexItems(dir: string, items: readonly IndexItem[]): void {
  writeFileAtomic(join(dir, INDEX_FILES.items), [Buffer.from(items.map((i) => `${JSON.stringify(i)}\n`).join(''), 'utf8')]);
}

export function readIndexItems(dir: string): IndexItem[] {
  const file = join(dir, INDEX_FILES.items);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new FormatError(file, null, 'file not found');
  }
  const lines = text.split('\n').filter((l) => l.length > 0);
  return lines.map((line, n) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new FormatError(file, `line ${n + 1}`, `not valid JSON (${(err as Error).message})`);
    }
    const parsed = indexItemSchema.safeParse(value);
    if (!parsed.success) throw new FormatError(file, `line ${n + 1}.${fieldPath(parsed.error.issues[0]!.path)}`, parsed.error.issues[0]!.message);
    if (parsed.data.id !== n) throw new FormatError(file, `line ${n + 1}`, `id ${parsed.data.id}, expected ${n}`);
    return parsed.data;
  });
}
