// Picking one column per row among allowed entries, uniformly at random, with tensors.
import { rand, tidy, type Tensor } from '../../torch/index.js';

/**
 * For each row of the bool mask [P, B], a uniformly random column where it holds (argmax of
 * uniform noise over the allowed entries). Rows without any allowed entry give an arbitrary
 * column; callers make sure there is one.
 */
export function uniformChoice(allowed: Tensor): Tensor {
  return tidy(() => {
    const noise = rand([...allowed.shape], { device: allowed.device });
    return noise.maskedFill(allowed.logicalNot(), -1).argmax(1);
  });
}
