#!/usr/bin/env node
// Entry point of the `mdprop` command: one sub-command per file under commands/.
import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands/index.js';
import { UsageError } from './errors.js';

const program = new Command();
program
  .name('mdprop')
  .description('Robust deep metric learning: MDProp training and evaluation over libtorch')
  .showHelpAfterError()
  .exitOverride();

registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else if (err instanceof UsageError) {
    process.stderr.write(`mdprop: ${err.message}\n`);
    process.exitCode = 2;
  } else {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`mdprop: ${message}\n`);
    if (process.env.MDPROP_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = 1;
  }
}
