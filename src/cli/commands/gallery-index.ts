// `mdprop index build --model RUN_OR_MODEL_FILE (--images DIR | --dataset D --split S) --out INDEX
//  [--ann exact|hnsw] [--batch-size N]`, `mdprop index add INDEX --images DIR`, `mdprop index info INDEX`.
// Embedding shows a progress bar; Ctrl-C stops after the current chunk (exit 130) and the same
// command continues from there.
import type { Command } from 'commander';
import { buildIndex, addToIndex, IndexInterrupted, openIndex, type GalleryInput } from '../../retrieval/index.js';
import { UsageError } from '../errors.js';
import type { CliStreams } from '../io.js';
import { integerFlag } from '../parse.js';
import { catchInterrupts } from '../interrupt.js';
import { progressTo } from '../progress.js';

interface SourceFlags {
  images?: string;
  dataset?: string;
  split?: string;
  dataRoot?: string;
}

function galleryInput(flags: SourceFlags): GalleryInput {
  if (flags.images !== undefined && flags.dataset !== undefined) throw new UsageError('give --images or --dataset, not both');
  if (flags.images !== undefined) return { images: flags.images };
  if (flags.dataset === undefined) throw new UsageError('give --images DIR or --dataset D --split test');
  return { dataset: flags.dataset, split: flags.split ?? 'test', ...(flags.dataRoot === undefined ? {} : { dataRoot: flags.dataRoot }) };
}

/**
 * Progress of the embedding: a continued build first says how many items were done before, and
 * its rate and ETA count only the items it embeds.
 */
function embedProgress(io: CliStreams): { update: (done: number, total: number) => void; stop: () => void } {
  const bar = progressTo('embed', 'img');
  let offset: number | null = null;
  return {
    update(done, total) {
      if (offset === null) {
        offset = done;
        if (done > 0) io.stderr.write(`continuing: ${done} of ${total} items were embedded before\n`);
      }
      if (total > offset) bar.update(done, total, '', done - offset);
    },
    stop: () => bar.stop(),
  };
}

/** Runs `work` with Ctrl-C or SIGTERM turned into a stop between chunks; exit 130 or 143 when it stopped that way. */
async function interruptible(io: CliStreams, work: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const interrupts = catchInterrupts(io, ['SIGINT', 'SIGTERM'], () => 'stopping after the current chunk');
  try {
    await work(interrupts.signal);
  } catch (err) {
    if (!(err instanceof IndexInterrupted)) throw err;
    io.stderr.write(`mdprop: ${err.message}\n`);
    process.exitCode = interrupts.exitCode();
  } finally {
    interrupts.dispose();
  }
}

export function registerIndex(program: Command, io: CliStreams): void {
  const index = program.command('index').description('build, extend and inspect a gallery index for search');
  index
    .command('build')
    .description('embed a gallery (a folder of images or a dataset split) with a model into an index directory; resumable')
    .requiredOption('--model <run|file>', 'a run directory (its model.safetensors) or a model file')
    .option('--images <dir>', 'folder searched recursively for images; labels are top-level subfolders')
    .option('--dataset <name>', 'a dataset instead of a folder: fashion-mnist, mnist, cub200, ...')
    .option('--split <name>', "the dataset's split", 'test')
    .option('--data-root <dir>', "folder the dataset was downloaded to (fashion-mnist: default the Debian package's files; mnist: none)")
    .requiredOption('--out <dir>', 'index directory to write (new or empty; an unfinished build there is continued)')
    .option('--ann <kind>', "'exact' (exact search on libtorch) or 'hnsw' (also an approximate HNSW graph, usearch)", 'exact')
    .option('--batch-size <n>', 'images per forward pass', '32')
    .action(async (flags: SourceFlags & { model: string; out: string; ann: string; batchSize: string }) => {
      if (flags.ann !== 'exact' && flags.ann !== 'hnsw') throw new UsageError(`--ann: expected exact or hnsw, got '${flags.ann}'`);
      const input = galleryInput(flags);
      const batchSize = integerFlag('--batch-size', flags.batchSize);
      const bar = embedProgress(io);
      await interruptible(io, async (signal) => {
        try {
          const manifest = await buildIndex(input, {
            model: flags.model,
            out: flags.out,
            ann: flags.ann as 'exact' | 'hnsw',
            batchSize,
            signal,
            onProgress: (done, total) => bar.update(done, total),
            onGraph: (items) => {
              bar.stop();
              io.stderr.write(`building the HNSW graph of ${items} items\n`);
            },
          });
          bar.stop();
          io.stdout.write(`${flags.out}: ${manifest.count} items, ${manifest.dim}-d, ${manifest.ann ? 'exact and HNSW' : 'exact'} search\n`);
        } finally {
          bar.stop();
        }
      });
    });
  index
    .command('add')
    .description("embed more images into an index with the index's own model")
    .argument('<index>', 'index directory')
    .option('--images <dir>', 'folder searched recursively for images')
    .option('--dataset <name>', 'a dataset split instead of a folder')
    .option('--split <name>', "the dataset's split", 'test')
    .option('--data-root <dir>', 'folder the dataset was downloaded to')
    .option('--model <file>', "the index's model file, if it has moved (it must be the same bytes)")
    .option('--batch-size <n>', 'images per forward pass', '32')
    .action(async (dir: string, flags: SourceFlags & { model?: string; batchSize: string }) => {
      const input = galleryInput(flags);
      const batchSize = integerFlag('--batch-size', flags.batchSize);
      const bar = embedProgress(io);
      await interruptible(io, async (signal) => {
        try {
          const manifest = await addToIndex(dir, input, { model: flags.model, batchSize, signal, onProgress: (done, total) => bar.update(done, total) });
          bar.stop();
          io.stdout.write(`${dir}: ${manifest.count} items\n`);
        } finally {
          bar.stop();
        }
      });
    });
  index
    .command('info')
    .description('what an index holds: items, labels, model, sources, search kind')
    .argument('<index>', 'index directory')
    .option('--json', 'print as JSON')
    .action(async (dir: string, flags: { json?: boolean }) => {
      const opened = openIndex(dir);
      try {
        const info = opened.info();
        if (flags.json) {
          io.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
          return;
        }
        const sources = info.sources.map((s) => (s.kind === 'images' ? `images in ${s.root}` : `${s.dataset} ${s.split}`)).join('; ');
        const labels = Object.entries(info.labels);
        io.stdout.write(
          [
            `index:   ${info.dir}`,
            `items:   ${info.items} (${info.dim}-d embeddings)`,
            `search:  ${info.search}${info.ann ? ` (usearch HNSW, M ${info.ann.connectivity}, ef_construction ${info.ann.expansionAdd}, ef ${info.ann.expansionSearch})` : ''}`,
            `model:   ${info.model.file} (${info.model.arch}, sha256 ${info.model.sha256.slice(0, 16)}...)`,
            `input:   resize ${info.model.resize}, crop ${info.model.crop}, ${info.model.channels} channel${info.model.channels === 1 ? '' : 's'}`,
            `sources: ${sources}`,
            `labels:  ${labels.length === 0 ? 'none' : `${labels.length}: ${labels.slice(0, 10).map(([l, n]) => `${l} (${n})`).join(', ')}${labels.length > 10 ? ', ...' : ''}`}`,
            `created: ${info.created}`,
          ].join('\n') + '\n',
        );
      } finally {
        await opened.close();
      }
    });
}
