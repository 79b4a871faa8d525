// Building and extending a gallery index. Images are embedded a chunk at a time; each chunk is
// written atomically and then listed in the manifest, so an interrupted build or add continues
// from its last finished chunk when run again. When every item is embedded, items.jsonl is
// written and the HNSW graph (if asked for) is built or extended; only then is the index ready.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SubsetSplit } from '../data/index.js';
import {
  chunkFileName,
  hasIndexManifest,
  INDEX_FILES,
  INDEX_FORMAT,
  MDPROP_VERSION,
  readIndexChunk,
  readIndexManifest,
  writeIndexChunk,
  writeIndexItems,
  writeIndexManifest,
  type IndexItem,
  type IndexManifest,
  type IndexSource,
} from '../formats/index.js';
import { HNSW_DEFAULTS, HnswGraph, type HnswParameters } from './ann.js';
import { Embedder } from './embedder.js';
import { IndexError } from './errors.js';
import { openGallerySource, type GallerySource } from './gallery-source.js';
import { hashBytes, resolveModelFile } from './model-ref.js';

export type AnnKind = 'exact' | 'hnsw';

/** Where gallery images come from: a folder, or a dataset's split. */
export type GalleryInput = { images: string } | { dataset: string; split: string; dataRoot?: string };

export interface EmbedProgress {
  /** Items of this source embedded, and in all. */
  onProgress?: (done: number, total: number) => void;
  /** Called when embedding is done and the HNSW graph is being built or extended. */
  onGraph?: (items: number) => void;
  /** Checked between chunks: an aborted build stops with IndexInterrupted, keeping its finished chunks. */
  signal?: AbortSignal;
}

export interface BuildIndexOptions extends EmbedProgress {
  /** A model file, or a run directory (its model.safetensors). */
  model: string;
  out: string;
  /** 'exact' (default): no graph, exact search; 'hnsw': also an approximate graph. */
  ann?: AnnKind;
  hnsw?: Partial<HnswParameters>;
  batchSize?: number;
  /** Items per chunk file: how much an interruption can lose (default 2048). */
  chunkRows?: number;
  branch?: number;
  device?: string;
  /** Threads for adding to the HNSW graph (0: all cores). */
  threads?: number;
}

export interface AddImagesOptions extends EmbedProgress {
  /** The model file, when it has moved since the build; it must be the same bytes. */
  model?: string;
  batchSize?: number;
  device?: string;
  threads?: number;
}

/** Stopped on request between chunks; running the same build or add again continues it. */
export class IndexInterrupted extends IndexError {
  override name = 'IndexInterrupted';
}

function sourceOf(input: GalleryInput): IndexSource {
  if ('images' in input) return { kind: 'images', root: resolve(input.images) };
  return { kind: 'dataset', dataset: input.dataset, split: input.split, ...(input.dataRoot === undefined ? {} : { root: resolve(input.dataRoot) }) };
}

function describeSource(source: IndexSource): string {
  return source.kind === 'images' ? `images in ${source.root}` : `${source.dataset} ${source.split}${source.root ? ` (${source.root})` : ''}`;
}

function planHash(gallery: GallerySource): string {
  const keys: string[] = [];
  for (let i = 0; i < gallery.split.size; i++) keys.push(gallery.key(i));
  return hashBytes(Buffer.from(keys.join('\n'), 'utf8'));
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 1) throw new IndexError(`${name}: expected a positive integer, got ${n}`);
  return n;
}

/** Builds an index of the gallery images in `out` with the model; continues an interrupted build of the same. */
export async function buildIndex(input: GalleryInput, options: BuildIndexOptions): Promise<IndexManifest> {
  const out = resolve(options.out);
  const modelFile = resolveModelFile(options.model);
  const source = sourceOf(input);
  const batchSize = positive('batchSize', options.batchSize, 32);
  const chunkRows = positive('chunkRows', options.chunkRows, 2048);
  const hnsw = { ...HNSW_DEFAULTS, ...options.hnsw };
  for (const [key, value] of Object.entries(hnsw)) positive(`hnsw.${key}`, value, 1);
  let previous: IndexManifest | null = null;
  if (hasIndexManifest(out)) {
    previous = readIndexManifest(out);
    if (previous.state === 'ready') throw new IndexError(`${options.out} already holds an index of ${previous.count} items; add images with 'mdprop index add', or choose another --out`);
  } else if (existsSync(out) && readdirSync(out).length > 0) {
    throw new IndexError(`${options.out} is a folder that is not empty and holds no index; choose a new or empty folder`);
  }
  const embedder = await Embedder.open(modelFile, { branch: options.branch, device: options.device, expectedSha256: previous?.model.sha256 });
  try {
    const gallery = await openGallerySource(source);
    const plan = planHash(gallery);
    let manifest: IndexManifest;
    if (previous) {
      const pendingSource = previous.pending ? previous.sources[previous.pending.source] : undefined;
      if (!previous.pending || JSON.stringify(pendingSource) !== JSON.stringify(gallery.source) || previous.pending.plan !== plan) {
        throw new IndexError(`${options.out} holds an unfinished build of ${pendingSource ? describeSource(pendingSource) : 'another gallery'}; run that build again, or choose another --out`);
      }
      manifest = previous;
    } else {
      mkdirSync(join(out, INDEX_FILES.chunks), { recursive: true });
      const t = embedder.transform;
      manifest = {
        format: INDEX_FORMAT,
        state: 'building',
        model: {
          file: modelFile,
          sha256: embedder.sha256,
          arch: embedder.loaded.arch,
          embedDim: embedder.dim,
          inChannels: embedder.loaded.inChannels,
          branch: embedder.loaded.branch,
          resize: t.resize,
          crop: t.crop,
          channels: t.channels,
          mean: [...t.mean],
          std: [...t.std],
        },
        dim: embedder.dim,
        count: 0,
        sources: [gallery.source],
        chunks: [],
        pending: { source: 0, first: 0, total: gallery.split.size, plan, chunkRows },
        ann: null,
        search: options.ann ?? 'exact',
        created: new Date().toISOString(),
        mdprop: MDPROP_VERSION,
      };
      if (manifest.search === 'hnsw') manifest.ann = { kind: 'hnsw', library: 'usearch', metric: 'ip', ...hnsw, file: INDEX_FILES.ann, items: 0 };
      writeIndexManifest(out, manifest);
    }
    await embedPending(out, manifest, gallery, embedder, batchSize, options);
    return finish(out, manifest, options);
  } finally {
    embedder.dispose();
  }
}

/** Embeds the images of another folder or split into a ready index (or continues an interrupted add of the same). */
export async function addToIndex(dir: string, input: GalleryInput, options: AddImagesOptions = {}): Promise<IndexManifest> {
  const out = resolve(dir);
  const manifest = readIndexManifest(out);
  const batchSize = positive('batchSize', options.batchSize, 32);
  const modelFile = options.model === undefined ? manifest.model.file : resolveModelFile(options.model);
  if (!existsSync(modelFile)) throw new IndexError(`the index's model ${modelFile} is not there any more; give its new place (--model)`);
  const embedder = await Embedder.open(modelFile, { branch: manifest.model.branch, device: options.device, expectedSha256: manifest.model.sha256 });
  try {
    const gallery = await openGallerySource(sourceOf(input));
    const plan = planHash(gallery);
    if (manifest.state === 'building') {
      const pendingSource = manifest.pending ? manifest.sources[manifest.pending.source] : undefined;
      if (!manifest.pending || JSON.stringify(pendingSource) !== JSON.stringify(gallery.source) || manifest.pending.plan !== plan) {
        throw new IndexError(`${dir} has an unfinished build or add of ${pendingSource ? describeSource(pendingSource) : 'another gallery'}; run it again first`);
      }
    } else {
      manifest.sources.push(gallery.source);
      manifest.pending = { source: manifest.sources.length - 1, first: manifest.count, total: gallery.split.size, plan, chunkRows: 2048 };
      manifest.state = 'building';
      writeIndexManifest(out, manifest);
    }
    await embedPending(out, manifest, gallery, embedder, batchSize, options);
    return finish(out, manifest, options);
  } finally {
    embedder.dispose();
  }
}

async function embedPending(dir: string, manifest: IndexManifest, gallery: GallerySource, embedder: Embedder, batchSize: number, progress: EmbedProgress): Promise<void> {
  const pending = manifest.pending!;
  let done = manifest.count - pending.first;
  progress.onProgress?.(done, pending.total);
  while (done < pending.total) {
    if (progress.signal?.aborted) throw new IndexInterrupted(`stopped after ${done} of ${pending.total} items; run the same command again to continue`);
    const rows = Math.min(pending.chunkRows, pending.total - done);
    const indices = Int32Array.from({ length: rows }, (_, i) => done + i);
    const start = done;
    const embeddings = await embedder.embedSplit(new SubsetSplit(gallery.split, indices), batchSize, (d) => progress.onProgress?.(start + d, pending.total));
    const items: IndexItem[] = [];
    // Hashes a few files at a time: enough to overlap reads, few enough to stay within open-file limits.
    for (let i = 0; i < rows; i += 32) {
      const part = Array.from({ length: Math.min(32, rows - i) }, (_, j) => gallery.item(start + i + j, manifest.count + i + j, pending.source));
      items.push(...(await Promise.all(part)));
    }
    const file = chunkFileName(manifest.chunks.length);
    writeIndexChunk(dir, file, embeddings, manifest.dim, items);
    manifest.chunks.push({ file, first: manifest.count, rows });
    manifest.count += rows;
    writeIndexManifest(dir, manifest);
    done += rows;
  }
}

async function finish(dir: string, manifest: IndexManifest, progress: EmbedProgress & { threads?: number }): Promise<IndexManifest> {
  // A graph saved by a finish that stopped before its manifest was written already holds the new rows.
  const file = manifest.ann ? join(dir, manifest.ann.file) : '';
  const graph = manifest.ann ? (existsSync(file) ? HnswGraph.load(file, manifest.dim, manifest.ann) : new HnswGraph(manifest.dim, manifest.ann)) : null;
  const annFrom = graph?.size ?? manifest.count;
  if (annFrom > manifest.count) throw new IndexError(`${file} holds ${annFrom} items, more than the ${manifest.count} embedded; delete it and run the command again to rebuild it`);
  const items: IndexItem[] = [];
  const newRows = new Float32Array((manifest.count - annFrom) * manifest.dim);
  for (const chunk of manifest.chunks) {
    const { rows, items: chunkItems } = readIndexChunk(dir, chunk, manifest.dim);
    items.push(...chunkItems);
    for (let r = Math.max(annFrom, chunk.first); r < chunk.first + chunk.rows; r++) {
      newRows.set(rows.subarray((r - chunk.first) * manifest.dim, (r - chunk.first + 1) * manifest.dim), (r - annFrom) * manifest.dim);
    }
  }
  writeIndexItems(dir, items);
  if (graph && manifest.ann) {
    if (newRows.length > 0) {
      progress.onGraph?.(manifest.count);
      graph.add(annFrom, newRows, progress.threads ?? 0);
      graph.save(file);
    }
    manifest.ann.items = manifest.count;
  }
  manifest.pending = null;
  manifest.state = 'ready';
  writeIndexManifest(dir, manifest);
  return manifest;
}
