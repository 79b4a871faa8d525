// Weight initialisation, in place, from the global (seeded) generator. The formulas are PyTorch's,
// so a model built here starts from the same distributions as its torchvision counterpart.
import { noGrad, type Tensor } from '../torch/index.js';

/** Fan-in and fan-out of a weight [out, in, ...kernel]: channels times receptive-field size. */
export function fans(weight: Tensor): { fanIn: number; fanOut: number } {
  const shape = weight.shape;
  if (shape.length < 2) throw new Error(`fans: need a weight with at least 2 dims, got [${shape.join(', ')}]`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

export type FanMode = 'fan_in' | 'fan_out';

/** Gain of a leaky ReLU with negative slope a (a = 0 is ReLU): sqrt(2 / (1 + a^2)). */
export function leakyReluGain(a = 0): number {
  return Math.sqrt(2 / (1 + a * a));
}

/** U(-b, b) with b = gain * sqrt(3 / fan): PyTorch's kaiming_uniform_. */
export function kaimingUniform_(weight: Tensor, a = 0, mode: FanMode = 'fan_in'): Tensor {
  const fan = mode === 'fan_in' ? fans(weight).fanIn : fans(weight).fanOut;
  const bound = leakyReluGain(a) * Math.sqrt(3 / fan);
  return uniform_(weight, -bound, bound);
}

/** N(0, std^2) with std = gain / sqrt(fan): PyTorch's kaiming_normal_. */
export function kaimingNormal_(weight: Tensor, a = 0, mode: FanMode = 'fan_in'): Tensor {
  const fan = mode === 'fan_in' ? fans(weight).fanIn : fans(weight).fanOut;
  const std = leakyReluGain(a) / Math.sqrt(fan);
  noGrad(() => weight.normal_(0, std));
  return weight;
}

export function uniform_(t: Tensor, low: number, high: number): Tensor {
  noGrad(() => t.uniform_(low, high));
  return t;
}

export function constant_(t: Tensor, value: number): Tensor {
  noGrad(() => t.fill_(value));
  return t;
}

/**
 * PyTorch's default for Conv2d and Linear: kaiming_uniform_(a = sqrt(5)) on the weight, which
 * comes to U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the bias.
 */
export function defaultLayerInit_(weight: Tensor, bias: Tensor | null): void {
  kaimingUniform_(weight, Math.sqrt(5));
  if (bias) {
    const { fanIn } = fans(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform_(bias, -bound, bound);
  }
}
