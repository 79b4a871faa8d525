// Loaded into a child process with `node --import`: appends the URL of every ES module the
// process resolves to the file named by MDPROP_MODULE_LOG, so a test can see what a command loads.
import { appendFileSync } from 'node:fs';
import { register, type ResolveHook } from 'node:module';
import { isMainThread } from 'node:worker_threads';

// The hooks run on a thread of their own, which loads this same file.
if (isMainThread) register(import.meta.url);

export const resolve: ResolveHook = async (specifier, context, next) => {
  const resolved = await next(specifier, context);
  const log = process.env.MDPROP_MODULE_LOG;
  if (log) appendFileSync(log, `${resolved.url}\n`);
  return resolved;
};
