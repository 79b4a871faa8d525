// `mdprop metrics --embeddings E.safetensors [--labels L.safetensors] [--k 1,2,4,8] [--json] [--seed 0]`
// Reads `embeddings` (float32 [N, D]) and `labels` (int64 [N]; from the embeddings file when
// --labels is absent) and prints retrieval, clustering and embedding-space metrics: every sample
// is a query against all others, L2-normalised, Euclidean distance. With --json one object with
// keys recall@K (each K), map@r, r_precision, nmi, f1, pi_ratio, map, rho_spectrum.
import { existsSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { evaluateRetrieval, type EvaluationStage, type RetrievalReport } from '../../dml/index.js';
import { dispose, readSafetensors, type Tensor } from '../../torch/index.js';
import { UsageError } from '../errors.js';
import type { CliStreams } from '../io.js';
import { progressBar, type Progress } from '../progress.js';

interface MetricsFlags {
  readonly embeddings: string;
  readonly labels?: string;
  readonly k: string;
  readonly json?: boolean;
  readonly seed: string;
}

export function registerMetrics(program: Command, io: CliStreams): void {
  program
    .command('metrics')
    .description('retrieval and clustering metrics of embeddings (Recall@K, MAP@R, R-precision, NMI, F1, pi-ratio)')
    .requiredOption('--embeddings <file>', "safetensors with 'embeddings' (float32 [N, D])")
    .option('--labels <file>', "safetensors with 'labels' (int64 [N]); default: the embeddings file")
    .option('--k <list>', 'comma-separated K values for Recall@K', '1,2,4,8')
    .option('--json', 'print one JSON object instead of a table')
    .option('--seed <n>', 'seed of the k-means++ initialisation', '0')
    .action((flags: MetricsFlags) => {
      const ks = parseKs(flags.k);
      const seed = Number(flags.seed);
      if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed: expected a non-negative integer, got '${flags.seed}'`);
      const { embeddings, labels } = loadInputs(flags.embeddings, flags.labels ?? flags.embeddings);
      try {
        const report = withProgress(embeddings.size(0), (onProgress) =>
          evaluateRetrieval({ queries: embeddings, queryLabels: labels, ks, clustering: { seed }, onProgress }),
        );
        io.stdout.write(flags.json ? `${JSON.stringify(orderedReport(report, ks))}\n` : table(report, ks));
      } finally {
        dispose([embeddings, labels]);
      }
    });
}

function parseKs(text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const ks = parts.map(Number);
  if (parts.some((p) => p === '') || ks.some((k) => !Number.isInteger(k) || k < 1)) {
    throw new UsageError(`--k: expected comma-separated positive integers, got '${text}'`);
  }
  return [...new Set(ks)];
}

function readTensor(path: string, flag: string, name: string): Tensor {
  if (!existsSync(path) || !statSync(path).isFile()) throw new UsageError(`${flag}: file not found: ${path}`);
  let tensors: Map<string, Tensor>;
  try {
    tensors = readSafetensors(path).tensors;
  } catch (err) {
    throw new UsageError(`${flag} ${path}: ${(err as Error).message}`);
  }
  const wanted = tensors.get(name);
  for (const [other, t] of tensors) if (other !== name) t.dispose();
  if (!wanted) {
    const found = [...tensors.keys()].join(', ') || 'none';
    throw new UsageError(`${path}: no tensor '${name}' (found: ${found})`);
  }
  return wanted;
}

function describe(t: Tensor): string {
  return `${t.dtype} [${t.shape.join(', ')}]`;
}

/** Reads and checks both tensors; every error names the file and the tensor. */
function loadInputs(embeddingsPath: string, labelsPath: string): { embeddings: Tensor; labels: Tensor } {
  const embeddings = readTensor(embeddingsPath, '--embeddings', 'embeddings');
  let labels: Tensor | undefined;
  try {
    if (embeddings.dtype !== 'float32' || embeddings.ndim !== 2) {
      throw new UsageError(`${embeddingsPath}: tensor 'embeddings' must be float32 [N, D], got ${describe(embeddings)}`);
    }
    labels = readTensor(labelsPath, labelsPath === embeddingsPath ? '--embeddings' : '--labels', 'labels');
    if (labels.dtype !== 'int64' || labels.ndim !== 1) throw new UsageError(`${labelsPath}: tensor 'labels' must be int64 [N], got ${describe(labels)}`);
    if (labels.size(0) !== embeddings.size(0)) {
      throw new UsageError(
        `${labelsPath}: tensor 'labels' has ${labels.size(0)} entries but tensor 'embeddings' in ${embeddingsPath} has ${embeddings.size(0)} rows`,
      );
    }
    if (embeddings.size(0) < 2) throw new UsageError(`${embeddingsPath}: tensor 'embeddings' needs at least 2 rows, got ${embeddings.size(0)}`);
    return { embeddings, labels };
  } catch (err) {
    dispose([embeddings, labels]);
    throw err;
  }
}

/** Progress bars for large sets only; small ones finish before a bar would help. */
function withProgress(rows: number, run: (onProgress?: (stage: EvaluationStage, done: number, total: number) => void) => RetrievalReport): RetrievalReport {
  if (rows < 10_000) return run();
  const bars = new Map<EvaluationStage, { bar: Progress; done: number }>();
  const labels: Record<EvaluationStage, [string, string]> = {
    retrieval: ['retrieval', 'queries'],
    'kmeans-init': ['k-means++', 'centres'],
    kmeans: ['k-means', 'iter'],
  };
  try {
    return run((stage, done, total) => {
      let entry = bars.get(stage);
      if (!entry) {
        entry = { bar: progressBar(labels[stage][0], total, labels[stage][1]), done: 0 };
        bars.set(stage, entry);
      }
      entry.bar.tick(done - entry.done);
      entry.done = done;
    });
  } finally {
    for (const { bar } of bars.values()) bar.stop();
  }
}

/** The report with keys in a fixed order: recall@K by K, then the contract's keys, then extras. */
function orderedReport(report: RetrievalReport, ks: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of ks) out[`recall@${k}`] = report[`recall@${k}`];
  const rest: (keyof RetrievalReport)[] = ['map@r', 'r_precision', 'nmi', 'f1', 'pi_ratio', 'map', 'rho_spectrum'];
  for (const key of rest) {
    const value = report[key];
    if (typeof value === 'number') out[key] = value;
  }
  return out;
}

function table(report: RetrievalReport, ks: readonly number[]): string {
  const rows = Object.entries(orderedReport(report, ks));
  const width = Math.max(...rows.map(([name]) => name.length));
  return `${rows.map(([name, value]) => `${name.padEnd(width)}  ${value.toFixed(4)}`).join('\n')}\n`;
}
