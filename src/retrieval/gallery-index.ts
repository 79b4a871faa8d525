// An opened gallery index: its items, its embeddings as one libtorch tensor (exact search), its
// HNSW graph when it has one, and the model (loaded when a query is an image). search() takes
// image files, encoded image bytes or embeddings and returns each query's ranked neighbours.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readIndexChunk, readIndexItems, readIndexManifest, type IndexItem, type IndexManifest } from '../formats/index.js';
import { HnswGraph } from './ann.js';
import { Embedder } from './embedder.js';
import { IndexError } from './errors.js';
import { ExactSearch, type RankedRows } from './exact.js';
import { openGallerySource, type GallerySource } from './gallery-source.js';
import { resolveModelFile } from './model-ref.js';
import { DEFAULT_MAX_QUERY_PIXELS, decodeQueryImage } from './query-image.js';

export interface Neighbour {
  /** The item's id: its row in the index. */
  id: number;
  item: IndexItem;
  label: string | null;
  /** Cosine similarity of the query and the item's embeddings (1 = same direction). */
  score: number;
}

/** Image files (paths), encoded images (bytes), or embeddings: row-major Float32Array [m, D] or rows. */
export type Queries = readonly string[] | readonly Uint8Array[] | Float32Array | readonly (readonly number[])[];

export interface SearchOptions {
  /** Exact search even where the index has an HNSW graph. */
  exact?: boolean;
}

export interface OpenIndexOptions {
  /** The model file, when it has moved since the build (its bytes must be the same). */
  model?: string;
  device?: string;
  /** Largest query image, in pixels (default 25 megapixels). */
  maxPixels?: number;
  /**
   * false: read the manifest and items only, and the embeddings (and HNSW graph) at the first
   * search. The service's HTTP side opens its index so, since its inference worker searches.
   */
  loadVectors?: boolean;
}

export const MAX_K = 1000;

interface Searchers {
  exact: ExactSearch;
  graph: HnswGraph | null;
}

export class GalleryIndex {
  private embedderPromise: Promise<Embedder> | null = null;
  private readonly sources = new Map<number, Promise<GallerySource>>();
  private loaded: Searchers | null = null;

  private constructor(
    readonly dir: string,
    readonly manifest: IndexManifest,
    readonly items: readonly IndexItem[],
    /** The options it was opened with (the service's worker opens the same index alike). */
    readonly options: OpenIndexOptions,
  ) {}

  static open(dir: string, options: OpenIndexOptions = {}): GalleryIndex {
    const root = resolve(dir);
    const manifest = readIndexManifest(root);
    if (manifest.state !== 'ready') throw new IndexError(`${dir}: the index is not finished (${manifest.count} items embedded); run the build or add that was interrupted again`);
    const items = readIndexItems(root);
    if (items.length !== manifest.count) throw new IndexError(`${dir}: items.jsonl lists ${items.length} items, the manifest ${manifest.count}`);
    const index = new GalleryIndex(root, manifest, items, options);
    if (options.loadVectors !== false) index.searchers();
    return index;
  }

  /** The embeddings as one tensor, and the HNSW graph where the index has one: read once. */
  private searchers(): Searchers {
    if (this.loaded) return this.loaded;
    const { dir, manifest } = this;
    const rows = new Float32Array(manifest.count * manifest.dim);
    for (const chunk of manifest.chunks) rows.set(readIndexChunk(dir, chunk, manifest.dim).rows, chunk.first * manifest.dim);
    let graph: HnswGraph | null = null;
    if (manifest.ann) {
      const file = join(dir, manifest.ann.file);
      if (!existsSync(file)) throw new IndexError(`${dir}: the HNSW graph ${manifest.ann.file} is missing`);
      graph = HnswGraph.load(file, manifest.dim, manifest.ann);
      if (graph.size !== manifest.count) throw new IndexError(`${dir}: the HNSW graph holds ${graph.size} items, the manifest ${manifest.count}`);
    }
    this.loaded = { exact: new ExactSearch(rows, manifest.dim), graph };
    return this.loaded;
  }

  get size(): number {
    return this.manifest.count;
  }

  get dim(): number {
    return this.manifest.dim;
  }

  get hasGraph(): boolean {
    return this.manifest.ann !== null;
  }

  /** The model, loaded on first use and checked against the hash the index records. */
  embedder(): Promise<Embedder> {
    this.embedderPromise ??= (async () => {
      const file = this.options.model === undefined ? this.manifest.model.file : resolveModelFile(this.options.model);
      if (!existsSync(file)) throw new IndexError(`the index's model ${file} is not there any more; give its new place (model option)`);
      return Embedder.open(file, { branch: this.manifest.model.branch, device: this.options.device, expectedSha256: this.manifest.model.sha256 });
    })();
    this.embedderPromise.catch(() => (this.embedderPromise = null));
    return this.embedderPromise;
  }

  /** Decodes an uploaded image into the model's input (allowlisted formats, pixel limit from the header). */
  async decode(bytes: Uint8Array): Promise<Float32Array> {
    const embedder = await this.embedder();
    return decodeQueryImage(bytes, embedder.transform, this.options.maxPixels ?? DEFAULT_MAX_QUERY_PIXELS);
  }

  /** Ranked neighbours of each query, best first. */
  async search(queries: Queries, k = 10, options: SearchOptions = {}): Promise<Neighbour[][]> {
    return this.neighbours(await this.embedQueries(queries), k, options);
  }

  /** Embeddings (row-major [m, D]) of queries given as images or as embeddings. */
  async embedQueries(queries: Queries): Promise<Float32Array> {
    if (queries instanceof Float32Array) {
      if (queries.length % this.dim !== 0) throw new IndexError(`embeddings of ${queries.length} values are not rows of ${this.dim}`);
      return queries;
    }
    if (queries.length === 0) return new Float32Array(0);
    const first = queries[0];
    if (Array.isArray(first)) {
      const rows = queries as readonly (readonly number[])[];
      rows.forEach((r, i) => {
        if (r.length !== this.dim) throw new IndexError(`embedding ${i} has ${r.length} values; the index's have ${this.dim}`);
      });
      return Float32Array.from(rows.flat());
    }
    const embedder = await this.embedder();
    const inputs: Float32Array[] = [];
    for (const q of queries as readonly (string | Uint8Array)[]) {
      if (typeof q === 'string') {
        let bytes: Buffer;
        try {
          bytes = readFileSync(q);
        } catch {
          throw new IndexError(`query image not found: ${q}`);
        }
        try {
          inputs.push(await this.decode(bytes));
        } catch (err) {
          throw new IndexError(`${q}: ${(err as Error).message}`);
        }
      } else inputs.push(await this.decode(q));
    }
    return embedder.embedInputs(inputs);
  }

  /** Ranked neighbours of embeddings (row-major [m, D], L2-normalised). */
  neighbours(embeddings: Float32Array, k = 10, options: SearchOptions = {}): Neighbour[][] {
    return this.describe(this.rank(embeddings, k, options), embeddings.length / this.dim);
  }

  /** Ids and scores of each embedding's k best items (row-major [m, D], L2-normalised), best first. */
  rank(embeddings: Float32Array, k = 10, options: SearchOptions = {}): RankedRows {
    if (!Number.isInteger(k) || k < 1 || k > MAX_K) throw new IndexError(`k must be a whole number from 1 to ${MAX_K}, got ${k}`);
    if (embeddings.length % this.dim !== 0) throw new IndexError(`embeddings of ${embeddings.length} values are not rows of ${this.dim}`);
    const { exact, graph } = this.searchers();
    return graph && !options.exact ? graph.search(embeddings, k) : exact.search(embeddings, k);
  }

  /** The items behind the ranked ids of `queries` queries (ids below 0, HNSW's "none", are left out). */
  describe(ranked: RankedRows, queries: number): Neighbour[][] {
    const out: Neighbour[][] = [];
    for (let q = 0; q < queries; q++) {
      const row: Neighbour[] = [];
      for (let j = 0; j < ranked.k; j++) {
        const id = ranked.ids[q * ranked.k + j]!;
        if (id < 0) continue;
        const item = this.items[id]!;
        row.push({ id, item, label: item.label ?? null, score: ranked.scores[q * ranked.k + j]! });
      }
      out.push(row);
    }
    return out;
  }

  /** The encoded image of item `id` and its media type. */
  async itemImage(id: number): Promise<{ bytes: Buffer; contentType: string }> {
    const item = this.items[id];
    if (!Number.isInteger(id) || item === undefined) throw new IndexError(`no item ${id}; ids are 0..${this.size - 1}`);
    let source = this.sources.get(item.source);
    if (!source) {
      source = openGallerySource(this.manifest.sources[item.source]!);
      source.catch(() => this.sources.delete(item.source));
      this.sources.set(item.source, source);
    }
    const gallery = await source;
    const index = gallery.find(item);
    if (index < 0) throw new IndexError(`item ${id}: ${item.path} is no longer in ${this.manifest.sources[item.source]!.kind === 'images' ? 'its folder' : 'its dataset'}`);
    return gallery.image(index);
  }

  /** What `mdprop index info` shows. */
  info(): IndexInfo {
    const labels = new Map<string, number>();
    for (const item of this.items) if (item.label !== undefined) labels.set(item.label, (labels.get(item.label) ?? 0) + 1);
    return {
      dir: this.dir,
      items: this.size,
      dim: this.dim,
      model: this.manifest.model,
      sources: this.manifest.sources,
      search: this.hasGraph ? 'hnsw' : 'exact',
      ann: this.manifest.ann,
      labels: Object.fromEntries([...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      created: this.manifest.created,
    };
  }

  async close(): Promise<void> {
    this.loaded?.exact.dispose();
    this.loaded = null;
    const embedder = await this.embedderPromise?.catch(() => null);
    embedder?.dispose();
    this.embedderPromise = null;
  }
}

export interface IndexInfo {
  dir: string;
  items: number;
  dim: number;
  model: IndexManifest['model'];
  sources: IndexManifest['sources'];
  search: 'exact' | 'hnsw';
  ann: IndexManifest['ann'];
  /** Items per label. */
  labels: Record<string, number>;
  created: string;
}

/** Opens an index directory for search. */
export function openIndex(dir: string, options: OpenIndexOptions = {}): GalleryIndex {
  return GalleryIndex.open(dir, options);
}
