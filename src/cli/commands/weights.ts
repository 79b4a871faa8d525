// `mdprop weights convert IN.pth OUT.safetensors [--json]`: a PyTorch checkpoint (torch.save's
// zip or legacy format; the state dict itself or nested under "state_dict", "model", ...) rewritten as
// safetensors with the same names and values. No Python is involved. `--pretrained` and
// `mdprop embed --weights` also read .pth files directly; converting once saves the unpickling.
import type { Command } from 'commander';
import { convertWeights } from '../../formats/index.js';
import type { CliStreams } from '../io.js';

export function registerWeights(program: Command, io: CliStreams): void {
  const weights = program.command('weights').description('convert weight files');
  weights
    .command('convert')
    .description("write a PyTorch checkpoint's (.pth/.pt) state dict as safetensors, names and values unchanged")
    .argument('<input>', 'checkpoint written by torch.save (zip or legacy format)')
    .argument('<output>', 'safetensors file to write')
    .option('--json', 'print what was written as JSON')
    .action((input: string, output: string, flags: { json?: boolean }) => {
      // A file that cannot be read is a failure naming it (exit 1), not a usage error.
      const result = convertWeights(input, output);
      const where = result.found_at === null ? '' : ` (the state dict under "${result.found_at}")`;
      io.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : `${output}: ${result.tensors} tensors, ${result.elements} elements from ${input}${where}\n`);
    });
}
