// `mdprop serve --index INDEX [--host 127.0.0.1] [--port 8080] [--max-batch N] [--max-wait-ms N]
// [--token T]`: the retrieval service and its web page. SIGTERM or Ctrl-C stops accepting,
// finishes the requests in flight and exits 0.
import type { Command } from 'commander';
import { openIndex } from '../../retrieval/index.js';
import { SERVE_DEFAULTS, startServer, type InferencePlace } from '../../serve/index.js';
import type { CliStreams } from '../io.js';
import { integerFlag } from '../parse.js';
import { UsageError } from '../errors.js';

interface ServeFlags {
  index: string;
  host: string;
  port: string;
  maxBatch: string;
  maxWaitMs: string;
  maxQueue: string;
  maxBodyMb: string;
  maxPixels: string;
  timeoutMs: string;
  token?: string;
  threads?: string;
  inference: string;
}

export function registerServe(program: Command, io: CliStreams): void {
  program
    .command('serve')
    .description('an HTTP retrieval service over an index, with a web page')
    .requiredOption('--index <dir>', 'index directory (mdprop index build)')
    .option('--host <address>', 'address to listen on (only this machine by default)', SERVE_DEFAULTS.host)
    .option('--port <n>', 'port (0: any free port)', String(SERVE_DEFAULTS.port))
    .option('--max-batch <n>', 'images embedded together at most (1: no batching)', String(SERVE_DEFAULTS.maxBatch))
    .option('--max-wait-ms <n>', 'how long a request waits for others to fill a batch', String(SERVE_DEFAULTS.maxWaitMs))
    .option('--max-queue <n>', 'requests waiting for the model at most; more are answered 503', String(SERVE_DEFAULTS.maxQueue))
    .option('--max-body-mb <n>', 'largest request body in MiB', String(SERVE_DEFAULTS.maxBodyBytes / 1024 / 1024))
    .option('--max-pixels <n>', 'largest query image in pixels (refused from its header)', String(SERVE_DEFAULTS.maxPixels))
    .option('--timeout-ms <n>', 'longest a request may take to arrive, and to wait for the model', String(SERVE_DEFAULTS.requestTimeoutMs))
    .option('--threads <n>', 'CPU threads of libtorch (default: the number of cores)')
    .option('--inference <place>', "where the model runs: 'worker' (a worker thread; the HTTP side answers while a batch runs) or 'main' (the HTTP thread; one copy of the model and embeddings)", SERVE_DEFAULTS.inference)
    .option('--token <token>', 'require "Authorization: Bearer <token>" on every route but /healthz')
    .action(async (flags: ServeFlags) => {
      const options = {
        host: flags.host,
        port: integerFlag('--port', flags.port, 0),
        maxBatch: integerFlag('--max-batch', flags.maxBatch),
        maxWaitMs: integerFlag('--max-wait-ms', flags.maxWaitMs, 0),
        maxQueue: integerFlag('--max-queue', flags.maxQueue),
        maxBodyBytes: integerFlag('--max-body-mb', flags.maxBodyMb) * 1024 * 1024,
        maxPixels: integerFlag('--max-pixels', flags.maxPixels),
        requestTimeoutMs: integerFlag('--timeout-ms', flags.timeoutMs),
        token: flags.token,
        threads: flags.threads === undefined ? undefined : integerFlag('--threads', flags.threads),
        inference: inferencePlace(flags.inference),
      };
      // With a worker, the HTTP side needs the items only: the worker reads the embeddings.
      const index = openIndex(flags.index, { maxPixels: options.maxPixels, loadVectors: options.inference === 'main' });
      const server = await startServer(index, options);
      io.stderr.write(`serving ${index.size} items of ${flags.index} at ${server.url}/ (POST /v1/search, /v1/embed; GET /healthz, /metrics)\n`);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          process.off('SIGTERM', onTerm);
          process.off('SIGINT', onInt);
          io.stderr.write(`${signal}: finishing the requests in flight\n`);
          void server
            .close()
            .then(() => index.close())
            .then(resolve, (err: unknown) => {
              io.stderr.write(`mdprop: ${(err as Error).message}\n`);
              process.exitCode = 1;
              resolve();
            });
        };
        const onTerm = () => stop('SIGTERM');
        const onInt = () => stop('SIGINT');
        process.on('SIGTERM', onTerm);
        process.on('SIGINT', onInt);
      });
      io.stderr.write('stopped\n');
    });
}

function inferencePlace(value: string): InferencePlace {
  if (value === 'worker' || value === 'main') return value;
  throw new UsageError(`--inference: expected 'worker' or 'main', got '${value.slice(0, 40)}'`);
}
