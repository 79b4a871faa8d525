// `mdprop search --index INDEX --image FILE... [--k 10] [--json]`: the k nearest gallery items of
// each query image, best first, with their labels and cosine scores.
import type { Command } from 'commander';
import { IndexError, MAX_K, openIndex } from '../../retrieval/index.js';
import { UsageError } from '../errors.js';
import type { CliStreams } from '../io.js';
import { integerFlag } from '../parse.js';

export function registerSearch(program: Command, io: CliStreams): void {
  program
    .command('search')
    .description('the k nearest gallery items of query images (cosine score, best first)')
    .requiredOption('--index <dir>', 'index directory (mdprop index build)')
    .requiredOption('--image <files...>', 'query image files')
    .option('--k <n>', 'neighbours per query', '10')
    .option('--exact', 'exact search even where the index has an HNSW graph')
    .option('--json', 'print one JSON object: {"queries": [{"image", "neighbours": [{"id", "label", "score", "item"}]}]}')
    .action(async (flags: { index: string; image: string[]; k: string; exact?: boolean; json?: boolean }) => {
      const k = integerFlag('--k', flags.k);
      if (k > MAX_K) throw new UsageError(`--k: at most ${MAX_K}, got ${k}`);
      const index = openIndex(flags.index);
      try {
        const results = await index.search(flags.image, k, { exact: flags.exact }).catch((err: unknown) => {
          if (err instanceof IndexError && /^query image not found|^.+: (not an image|image format|cannot decode|image of)/.test(err.message)) throw new UsageError(`--image ${err.message}`);
          throw err;
        });
        if (flags.json) {
          const queries = flags.image.map((image, q) => ({ image, neighbours: results[q]!.map((n) => ({ id: n.id, label: n.label, score: n.score, item: n.item })) }));
          io.stdout.write(`${JSON.stringify({ queries })}\n`);
          return;
        }
        flags.image.forEach((image, q) => {
          io.stdout.write(`${image}\n`);
          results[q]!.forEach((n, rank) => {
            const where = n.item.path ?? `#${n.item.index}`;
            io.stdout.write(`  ${String(rank + 1).padStart(3)}. ${n.score.toFixed(4)}  ${n.label ?? '-'}  id ${n.id}  ${where}\n`);
          });
        });
      } finally {
        await index.close();
      }
    });
}
