// The memory a command's forward passes will need, checked against the machine before work starts
// (src/nn/memory-estimate.ts): a request that cannot fit is an OptionError naming the batch-size
// option, and the error says which settings to lower. Only CPU passes are checked; a GPU's memory
// is the device's own.
import { describeShortfall, memoryShortfall, type ForwardMemoryRequest } from '../nn/index.js';
import { OptionError } from './options.js';

/** `size` names the image-size option and its flag, e.g. ['crop', '--crop']. */
export function checkPassMemory(request: ForwardMemoryRequest, device: string, size: readonly [option: string, flag: string]): void {
  if (device !== 'cpu') return;
  const shortfall = memoryShortfall(request);
  if (shortfall) throw new OptionError('batchSize', `${describeShortfall(request, shortfall)}; lower batchSize (--batch-size) or ${size[0]} (${size[1]})`);
}
