// `mdprop metrics --embeddings E.safetensors [--labels L.safetensors] [--k 1,2,4,8] [--json] [--seed 0]`
// Reads `embeddings` (float32 [N, D]) and `labels` (int64 [N]; from the embeddings file when
// --labels is absent) and prints retrieval, clustering and embedding-space metrics: every sample
// is a query against all others, L2-normalised, Euclidean distance. With --json one object with
// keys recall@K (each K), map@r, map_c, r_precision, nmi, f1, pi_ratio, map, rho_spectrum.
import type { Command } from 'commander';
import { recallKey, retrievalMetrics, type MetricsStage, type MetricValues } from '../../dml/index.js';
import { FormatError, readEmbeddingsFile } from '../../formats/index.js';
import { dispose } from '../../torch/index.js';
import { UsageError } from '../errors.js';
import { integerFlag, integerListFlag } from '../parse.js';
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
      const ks = [...new Set(integerListFlag('--k', flags.k))];
      const seed = integerFlag('--seed', flags.seed, 0);
      const { embeddings, labels } = readInputs(flags.embeddings, flags.labels);
      try {
        const report = withProgress(embeddings.size(0), (onProgress) =>
          retrievalMetrics({ queries: embeddings, queryLabels: labels, ks, clustering: { seed }, onProgress }),
        );
        io.stdout.write(flags.json ? `${JSON.stringify(orderedReport(report, ks))}\n` : table(report, ks));
      } finally {
        dispose([embeddings, labels]);
      }
    });
}

/** Reading errors are usage errors (exit 2): the files were named on the command line. */
function readInputs(embeddings: string, labels: string | undefined): ReturnType<typeof readEmbeddingsFile> {
  try {
    return readEmbeddingsFile(embeddings, labels);
  } catch (err) {
    if (err instanceof FormatError) throw new UsageError(err.file === embeddings ? `--embeddings ${err.message}` : `--labels ${err.message}`);
    throw err;
  }
}

/** Progress bars for large sets only; small ones finish before a bar would help. */
function withProgress(rows: number, run: (onProgress?: (stage: MetricsStage, done: number, total: number) => void) => MetricValues): MetricValues {
  if (rows < 10_000) return run();
  const bars = new Map<MetricsStage, { bar: Progress; done: number }>();
  const labels: Record<MetricsStage, [string, string]> = {
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
function orderedReport(report: MetricValues, ks: readonly number[]): MetricValues {
  const out: MetricValues = {};
  for (const k of ks) out[recallKey(k)] = report[recallKey(k)]!;
  const rest = ['map@r', 'map_c', 'r_precision', 'nmi', 'f1', 'pi_ratio', 'map', 'rho_spectrum'];
  for (const key of rest) {
    const value = report[key];
    if (typeof value === 'number') out[key] = value;
  }
  return out;
}

function table(report: MetricValues, ks: readonly number[]): string {
  const rows = Object.entries(orderedReport(report, ks));
  const width = Math.max(...rows.map(([name]) => name.length));
  return `${rows.map(([name, value]) => `${name.padEnd(width)}  ${value.toFixed(4)}`).join('\n')}\n`;
}
