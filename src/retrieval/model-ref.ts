// Which model an index is built with: a model file, or a run directory (its model.safetensors),
// and the SHA-256 of its bytes that ties every embedding of an index to that model.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RUN_FILES } from '../formats/index.js';
import { IndexError } from './errors.js';

/** The model file that `runOrFile` names: the file itself, or a run directory's model. */
export function resolveModelFile(runOrFile: string): string {
  const path = resolve(runOrFile);
  if (!existsSync(path)) throw new IndexError(`model not found: ${runOrFile}`);
  if (statSync(path).isDirectory()) {
    const model = join(path, RUN_FILES.model);
    if (!existsSync(model)) throw new IndexError(`${runOrFile} is a folder without ${RUN_FILES.model}; give a run directory whose training finished, or a model file`);
    return model;
  }
  return path;
}

/** SHA-256 (hex) of a file's bytes, streamed. */
export async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function hashBytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
