// The registry of sub-commands. Each command lives in its own file and adds itself to the program;
// a file is imported only when its command runs, so `mdprop metrics` never loads the training
// code and `mdprop --help` loads no command at all. The name, usage and summary here are what the
// top-level help lists; a test checks them against the commands themselves.
import type { Command } from 'commander';
import type { CliStreams } from '../io.js';

/** Adds one command, with its flags and action, to the program. */
export type Register = (program: Command, io: CliStreams) => void;

export interface CommandEntry {
  readonly name: string;
  /** What follows the name in the top-level help: '[options]' when it has flags, then its arguments. */
  readonly usage: string;
  /** The command's one-line description. */
  readonly summary: string;
  readonly load: () => Promise<Register>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'data',
    usage: '',
    summary: 'inspect datasets',
    load: async () => (await import('./data.js')).registerData,
  },
  {
    name: 'embed',
    usage: '[options]',
    summary: 'embed a folder of images with a model (eval mode, L2-normalised embeddings)',
    load: async () => (await import('./embed.js')).registerEmbed,
  },
  {
    name: 'export',
    usage: '[options]',
    summary: 'write a model as an ONNX file: pixels in [0, 1] in, L2-normalised embeddings out, its settings in metadata_props',
    load: async () => (await import('./export.js')).registerExport,
  },
  {
    name: 'eval',
    usage: '[options]',
    summary: 'retrieval under test-time adversarial attacks (attacked queries against the clean gallery)',
    load: async () => (await import('./eval.js')).registerEval,
  },
  {
    name: 'metrics',
    usage: '[options]',
    summary: 'retrieval and clustering metrics of embeddings (Recall@K, MAP@R, R-precision, NMI, F1, pi-ratio)',
    load: async () => (await import('./metrics.js')).registerMetrics,
  },
  {
    name: 'train',
    usage: '[options]',
    summary: 'train an embedding model with a method (baseline, advprop-d, mdprop, or a defense: est, act, hm) and evaluate it',
    load: async () => (await import('./train.js')).registerTrain,
  },
  {
    name: 'bench',
    usage: '[options]',
    summary: 'time training steps of a method on random data (after a warm-up)',
    load: async () => (await import('./bench.js')).registerBench,
  },
  {
    name: 'compare',
    usage: '[options] <runs...>',
    summary: 'compare runs side by side: clean metrics (summary.json) and Recall@1 under attack (eval.json); ratios are against the first run',
    load: async () => (await import('./compare.js')).registerCompare,
  },
  {
    name: 'experiment',
    usage: '[options]',
    summary: 'train and evaluate methods over seeds alike; statistics, intervals and a report',
    load: async () => (await import('./experiment.js')).registerExperiment,
  },
  {
    name: 'report',
    usage: '<dir>',
    summary: 'rebuild report.html of a run directory (config.json) or an experiment directory (experiment.json) from its files',
    load: async () => (await import('./report.js')).registerReport,
  },
  {
    name: 'index',
    usage: '',
    summary: 'build, extend and inspect a gallery index for search',
    load: async () => (await import('./gallery-index.js')).registerIndex,
  },
  {
    name: 'search',
    usage: '[options]',
    summary: 'the k nearest gallery items of query images (cosine score, best first)',
    load: async () => (await import('./search.js')).registerSearch,
  },
  {
    name: 'serve',
    usage: '[options]',
    summary: 'an HTTP retrieval service over an index, with a web page',
    load: async () => (await import('./serve.js')).registerServe,
  },
  {
    name: 'weights',
    usage: '',
    summary: 'convert weight files',
    load: async () => (await import('./weights.js')).registerWeights,
  },
];
