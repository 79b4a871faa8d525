// mdprop's version (package.json's, read once): recorded in the files it writes, printed by --version.
import { readFileSync } from 'node:fs';

export const MDPROP_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
})();
