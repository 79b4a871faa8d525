// mdprop's version, recorded in the files it writes (read from package.json once).
import { readFileSync } from 'node:fs';

export const MDPROP_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
})();
