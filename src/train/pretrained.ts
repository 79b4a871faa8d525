// Loading initial weights (e.g. torchvision's ImageNet ResNet-50 saved as safetensors) into a
// model before its batch norms become multi-branch. Strict, with two allowances a pretrained file
// needs: a head `fc.*` of another shape (1000 ImageNet classes against a D-dim embedding) keeps
// the model's fresh head, and missing `num_batches_tracked` counters keep the model's.
import { StateDictError, type EmbeddingModel } from '../nn/index.js';
import { dispose, readSafetensors, tidy, type Tensor } from '../torch/index.js';
import { ConfigError, setting } from './config.js';

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Loads `path` into `model`; returns lines for the log describing what was not taken from the file. */
export function loadPretrained(model: EmbeddingModel, path: string): string[] {
  let state: Map<string, Tensor>;
  try {
    state = readSafetensors(path).tensors;
  } catch (err) {
    throw new ConfigError(`${setting('pretrained')} ${path}: ${(err as Error).message}`);
  }
  const notes: string[] = [];
  try {
    tidy(() => {
      const own = model.stateDict();
      const ownHead = [...own.keys()].filter((k) => k.startsWith('fc.'));
      const fileHead = [...state.keys()].filter((k) => k.startsWith('fc.'));
      const headFits = ownHead.every((k) => state.has(k) && sameShape(state.get(k)!.shape, own.get(k)!.shape));
      const merged = new Map(state);
      if (!headFits) {
        for (const k of fileHead) merged.delete(k);
        for (const k of ownHead) merged.set(k, own.get(k)!);
        const shapes = fileHead.map((k) => `${k} [${state.get(k)!.shape.join(', ')}]`).join(', ') || 'none';
        notes.push(`pretrained: the file's head (${shapes}) does not fit the ${model.embedDim}-dim embedding; the head fc.* starts freshly initialised`);
      }
      for (const [k, t] of own) if (k.endsWith('num_batches_tracked') && !merged.has(k)) merged.set(k, t);
      try {
        model.loadStateDict(merged);
      } catch (err) {
        if (err instanceof StateDictError) throw new ConfigError(`${setting('pretrained')} ${path}: ${err.message}`);
        throw err;
      }
    });
  } finally {
    dispose(state);
  }
  notes.push(`pretrained: loaded ${path}`);
  return notes;
}
