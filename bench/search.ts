// Search at scale on clustered 128-d embeddings; prints one JSON object on stdout.
//   node dist/bench/search.js [--sizes 100000,1000000] [--queries 200] [--k 10] [--threads 2]
//                             [--ef 64,128,256] [--library usearch|hnswlib-node]
// Data: L2-normalised rows, each a cluster centre (uniform on the sphere, one per 100 rows) plus
// isotropic Gaussian noise of norm about 0.5, the spread of classes in a trained embedding.
// Queries are fresh draws from the same clusters. For each size:
// - exact (libtorch, chunked matrix product + top-k): time to load the rows, memory, p50/p99
//   latency of one query, queries per second;
// - the HNSW graph (M 16, ef_construction 128): build time on --threads threads, memory, and for
//   each search ef: p50/p99 latency of one query, queries per second, recall@k against exact.
// hnswlib-node is not a dependency: for the comparison, `npm install --no-save hnswlib-node@3.0.0`.
import { execSync } from 'node:child_process';
import os from 'node:os';
import { ExactSearch, HNSW_DEFAULTS, HnswGraph } from '../src/retrieval/index.js';
import * as T from '../src/torch/index.js';
import { F, tidy } from '../src/torch/index.js';

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1]! : fallback;
}
const sizes = flag('sizes', '100000,1000000').split(',').map(Number);
const queryCount = Number(flag('queries', '200'));
const k = Number(flag('k', '10'));
const threads = Number(flag('threads', '2'));
const efs = flag('ef', '64,128,256').split(',').map(Number);
const library = flag('library', 'usearch');
const DIM = 128;
const NOISE = 0.5 / Math.sqrt(DIM);

T.setNumThreads(threads);

/** Rows of clustered unit vectors, and queries from the same clusters. */
function clustered(n: number, queries: number, seed: number): { rows: Float32Array; queries: Float32Array } {
  T.manualSeed(seed);
  return tidy(() => {
    const clusters = Math.max(1, Math.round(n / 100));
    const centres = F.l2Normalize(T.randn([clusters, DIM]), 1);
    const draw = (m: number) => {
      const which = T.randint(0, clusters, [m]);
      return F.l2Normalize(centres.indexSelect(0, which).add(T.randn([m, DIM]).mul(NOISE)), 1).toFloat32Array();
    };
    const rows = new Float32Array(n * DIM);
    const step = 100_000; // in pieces: the temporaries stay small
    for (let start = 0; start < n; start += step) rows.set(tidy(() => draw(Math.min(step, n - start))), start * DIM);
    return { rows, queries: draw(queries) };
  });
}

const rssMb = () => Math.round(process.memoryUsage().rss / 2 ** 20);
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** Latency of each query searched alone. */
function timeQueries(search: (q: Float32Array) => Int32Array, queries: Float32Array): { ms: number[]; ids: Int32Array[] } {
  const ms: number[] = [];
  const ids: Int32Array[] = [];
  for (let q = 0; q < queries.length / DIM; q++) {
    const one = queries.subarray(q * DIM, (q + 1) * DIM);
    const start = performance.now();
    ids.push(search(one));
    ms.push(performance.now() - start);
  }
  return { ms, ids };
}

function latency(ms: number[]) {
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  return { p50_ms: r3(quantile(ms, 0.5)), p99_ms: r3(quantile(ms, 0.99)), queries_per_s: Math.round(1000 / mean) };
}

function recall(found: Int32Array[], truth: Int32Array[]): number {
  let hits = 0;
  found.forEach((ids, q) => {
    const want = new Set(truth[q]);
    for (const id of ids) if (want.has(id)) hits++;
  });
  return r3(hits / (truth.length * k));
}

interface AnnIndex {
  build(rows: Float32Array): void;
  search(q: Float32Array): Int32Array;
}

/** The chosen library (usearch), through mdprop's own wrapper; a graph saved once is reloaded per ef. */
function usearchAt(ef: number, saved: string): AnnIndex {
  const params = { ...HNSW_DEFAULTS, expansionSearch: ef };
  let graph: HnswGraph;
  return {
    build(rows) {
      graph = new HnswGraph(DIM, params);
      graph.add(0, rows, threads);
      graph.save(saved);
    },
    search(q) {
      graph ??= HnswGraph.load(saved, DIM, params);
      return graph.search(q, k, 1).ids;
    },
  };
}

async function hnswlibAt(): Promise<(ef: number) => AnnIndex> {
  const { default: hnswlib } = (await import('hnswlib-node' as string)) as { default: { HierarchicalNSW: new (space: string, dim: number) => HnswlibIndex } };
  let index: HnswlibIndex;
  return (ef: number) => ({
    build(rows) {
      index = new hnswlib.HierarchicalNSW('ip', DIM);
      index.initIndex(rows.length / DIM, HNSW_DEFAULTS.connectivity, HNSW_DEFAULTS.expansionAdd, 100);
      for (let i = 0; i < rows.length / DIM; i++) index.addPoint(Array.from(rows.subarray(i * DIM, (i + 1) * DIM)), i);
    },
    search(q) {
      index.setEf(ef);
      return Int32Array.from(index.searchKnn(Array.from(q), k).neighbors);
    },
  });
}
interface HnswlibIndex {
  initIndex(max: number, m: number, efConstruction: number, seed: number): void;
  addPoint(point: number[], label: number): void;
  setEf(ef: number): void;
  searchKnn(q: number[], k: number): { neighbors: number[]; distances: number[] };
}

const results = [];
for (const n of sizes) {
  const { rows, queries } = clustered(n, queryCount, 7);
  const base = rssMb();
  let start = performance.now();
  const exact = new ExactSearch(rows, DIM);
  const exactLoadS = (performance.now() - start) / 1000;
  const exactRss = rssMb() - base;
  timeQueries((q) => exact.search(q, k).ids, queries.subarray(0, 5 * DIM)); // warm-up
  const exactRun = timeQueries((q) => exact.search(q, k).ids, queries);
  const exactResult = { load_s: r3(exactLoadS), rss_added_mb: exactRss, tensor_mb: Math.round((n * DIM * 4) / 2 ** 20), ...latency(exactRun.ms) };

  const saved = `${os.tmpdir()}/mdprop-bench-search-${process.pid}.usearch`;
  const make = library === 'usearch' ? (ef: number) => usearchAt(ef, saved) : await hnswlibAt();
  const beforeBuild = rssMb();
  start = performance.now();
  make(efs[0]!).build(rows);
  const buildS = (performance.now() - start) / 1000;
  const graphRss = rssMb() - beforeBuild;
  const sweep = [];
  for (const ef of efs) {
    const ann = make(ef);
    timeQueries((q) => ann.search(q), queries.subarray(0, 5 * DIM));
    const run = timeQueries((q) => ann.search(q), queries);
    const l = latency(run.ms);
    sweep.push({ ef, ...l, recall_at_k: recall(run.ids, exactRun.ids), speedup_vs_exact: r3(l.queries_per_s / exactResult.queries_per_s) });
  }
  results.push({ items: n, exact: exactResult, ann: { library, connectivity: HNSW_DEFAULTS.connectivity, ef_construction: HNSW_DEFAULTS.expansionAdd, build_s: r3(buildS), rss_added_mb: graphRss, search: sweep } });
  exact.dispose();
  process.stderr.write(`${JSON.stringify(results.at(-1))}\n`);
}

const cpu = os.cpus()[0]?.model ?? 'unknown';
process.stdout.write(
  `${JSON.stringify({
    bench: 'search',
    cpu,
    threads,
    node: process.version,
    uptime: execSync('uptime').toString().trim(),
    dim: DIM,
    queries: queryCount,
    k,
    data: `clustered: one centre per 100 rows (uniform on the sphere) + Gaussian noise of norm ~0.5, L2-normalised`,
    results,
  })}\n`,
);
