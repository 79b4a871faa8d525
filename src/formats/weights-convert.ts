// `mdprop weights convert`: a PyTorch checkpoint's state dict as safetensors, the container every
// mdprop command reads. The names and values are the state dict's own (nothing renamed, filled
// in or dropped), so the result is the same weights in another file; the allowances for weights
// from elsewhere (src/nn/load-rules.ts) apply when a file is loaded into a model.
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { CheckpointError, describeNonFinite, dispose, firstNonFinite, isPytorchCheckpoint, readPytorchCheckpoint, writeSafetensors } from '../torch/index.js';
import { FormatError } from './errors.js';

export interface ConvertResult {
  input: string;
  output: string;
  /** Entries written. */
  tensors: number;
  /** Elements over all entries. */
  elements: number;
  /** Where the state dict sat inside the checkpoint ("state_dict", ...); null: the checkpoint is the state dict. */
  found_at: string | null;
}

/** Writes the state dict of the PyTorch checkpoint `input` to `output` (safetensors, atomically). */
export function convertWeights(input: string, output: string): ConvertResult {
  if (!existsSync(input)) throw new FormatError(input, null, 'file not found');
  if (resolve(input) === resolve(output)) throw new FormatError(output, null, 'is the input file; choose another output');
  if (!isPytorchCheckpoint(input)) throw new FormatError(input, null, 'is not a PyTorch checkpoint (torch.save writes a zip archive or, before 1.6, a pickle); safetensors files need no conversion');
  let checkpoint: ReturnType<typeof readPytorchCheckpoint>;
  try {
    checkpoint = readPytorchCheckpoint(input);
  } catch (err) {
    if (err instanceof CheckpointError) throw new FormatError(input, null, err.message.replace(`${input}: `, ''));
    throw err;
  }
  try {
    const bad = firstNonFinite(checkpoint.tensors);
    if (bad) throw new FormatError(input, bad.name, describeNonFinite(bad));
    let elements = 0;
    for (const t of checkpoint.tensors.values()) elements += t.numel;
    writeSafetensors(output, checkpoint.tensors, { converted_from: basename(input), ...(checkpoint.foundAt === null ? {} : { state_dict_key: checkpoint.foundAt }) });
    return { input, output, tensors: checkpoint.tensors.size, elements, found_at: checkpoint.foundAt };
  } finally {
    dispose(checkpoint.tensors);
  }
}
