#!/usr/bin/env node
// Entry point of the `mdprop` command. The CLI itself is runCli (run.ts), which tests also call.
import { runCli } from './run.js';

// A reader that goes away early (`mdprop train --help | head -1`) makes writes fail with EPIPE:
// the rest of that output is dropped, without a stack trace; the command itself carries on.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

const { code } = await runCli(process.argv.slice(2));
process.exitCode = code;
