// Loading initial weights (e.g. torchvision's ImageNet ResNet-50, as its .pth or as safetensors)
// into a model before its batch norms become multi-branch. Strict, with the allowances of
// src/nn/load-rules.ts: a `module.` prefix is removed, missing num_batches_tracked counters keep
// the model's, and a head fc.* of another shape keeps the model's fresh head. Every such choice
// is reported in the run's log.
import { planLoad, StateDictError, type EmbeddingModel } from '../nn/index.js';
import { describeNonFinite, dispose, firstNonFinite, isPytorchCheckpoint, plainName, readPytorchCheckpoint, readSafetensors, tidy, type Tensor } from '../torch/index.js';
import { ConfigError, setting } from './config.js';

/** The state dict of a weights file: a PyTorch checkpoint (.pth/.pt, by its first bytes) or safetensors. */
export function readWeights(path: string): Map<string, Tensor> {
  if (isPytorchCheckpoint(path)) return readPytorchCheckpoint(path).tensors;
  return readSafetensors(path).tensors;
}

/** Loads `path` into `model`; returns lines for the log describing what was not taken from the file. */
export function loadPretrained(model: EmbeddingModel, path: string): string[] {
  let state: Map<string, Tensor>;
  try {
    state = readWeights(path);
  } catch (err) {
    const detail = (err as Error).message.replace(`${path}: `, '');
    throw new ConfigError(`${setting('pretrained')} ${path}: ${detail}`);
  }
  const notes: string[] = [];
  try {
    const bad = firstNonFinite(state);
    if (bad) throw new ConfigError(`${setting('pretrained')} ${path}: tensor ${plainName(bad.name)} ${describeNonFinite(bad)}`);
    tidy(() => {
      const own = model.stateDict();
      const plan = planLoad(own, state, { freshHead: true });
      const merged = new Map<string, Tensor>();
      for (const [fileName, modelName] of plan.take) merged.set(modelName, state.get(fileName)!);
      for (const k of plan.keepOwn) merged.set(k, own.get(k)!);
      try {
        model.loadStateDict(merged);
      } catch (err) {
        if (err instanceof StateDictError) throw new ConfigError(`${setting('pretrained')} ${path}: ${err.message}`);
        throw err;
      }
      notes.push(...plan.notes.map((n) => `pretrained: ${n}`));
    });
  } finally {
    dispose(state);
  }
  notes.push(`pretrained: loaded ${path}`);
  return notes;
}
