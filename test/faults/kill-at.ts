// Preloaded (node --import) into an `mdprop` child to kill it with SIGKILL at a chosen moment:
// MDPROP_KILL_AT=rename:N dies just before the N-th rename (a file complete but not in place),
// write:N in the middle of the N-th write (a file cut short). Nothing in mdprop knows of it.
import { createRequire, syncBuiltinESMExports } from 'node:module';

const require = createRequire(import.meta.url);
const fs = require('node:fs') as typeof import('node:fs');
const [what, nth] = (process.env.MDPROP_KILL_AT ?? '').split(':');
const at = Number(nth);
let count = 0;
const die = (): never => {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable');
};

if (what === 'rename') {
  const rename = fs.renameSync;
  fs.renameSync = (from, to) => {
    if (++count === at) die();
    rename(from, to);
  };
} else if (what === 'write') {
  const write = fs.writeSync as (fd: number, buffer: Uint8Array, offset?: number) => number;
  fs.writeSync = ((fd: number, buffer: Uint8Array | string, ...rest: unknown[]) => {
    if (++count === at) {
      const bytes = typeof buffer === 'string' ? Buffer.from(buffer) : buffer;
      write(fd, bytes.subarray(0, bytes.byteLength >> 1));
      die();
    }
    return (write as (...a: unknown[]) => number)(fd, buffer, ...rest);
  }) as typeof fs.writeSync;
}
syncBuiltinESMExports();
