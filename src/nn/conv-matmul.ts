// A convolution computed as one matrix product: the input's patches as rows (a 1x1 convolution's
// rows are the channels-last pixels themselves, no copy), times the flattened weight. Autograd
// differentiates the product and the patch extraction, so the weight gradient is one more matrix
// product. On a CPU with AMX-BF16 libtorch 1.13's oneDNN computes bfloat16 weight gradients of
// some convolutions 3-10x slower than its forward pass (3x3 convolutions on 2x2 maps, 1x1
// convolutions), where its matrix products run at full speed: for those shapes the product is
// several times faster in training (bench/conv-matmul.js).
import { cpuFlags, F, tidy, type Tensor } from '../torch/index.js';

/** 'convolution': libtorch's; 'matmul': as a matrix product; 'auto': the product where it was measured faster. */
export type ConvAlgorithm = 'auto' | 'convolution' | 'matmul';

export interface ConvGeometry {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
}

/** Output height and width of a convolution of an [N, C, H, W] input. */
export function convOutputSize(g: ConvGeometry, height: number, width: number): [number, number] {
  const side = (size: number, i: 0 | 1) => Math.floor((size + 2 * g.padding[i] - g.dilation[i] * (g.kernel[i] - 1) - 1) / g.stride[i]) + 1;
  return [side(height, 0), side(width, 1)];
}

/**
 * The shapes where bench/conv-matmul.js measured the product faster than oneDNN's bfloat16
 * convolution, forward and backward, on a Xeon with AMX-BF16 (1 thread): every 1x1 convolution
 * with stride 1 (ResNet-50's bottleneck ends: 1.3-2.6x), strided 1x1 ones onto at most 7x7
 * (ResNet-50's last downsampling: 2.8x; onto 28x28 it is 1.5x slower), and any convolution with
 * at most 4 output positions (ResNet-18's last stage at 64x64: 3x). Every side of the product must
 * exceed 16: libtorch 1.13 hands smaller bfloat16 products to a fallback that may accumulate in
 * bfloat16 rather than float32.
 */
export function matmulShape(g: ConvGeometry, input: readonly number[], outChannels: number): boolean {
  if (g.groups !== 1 || g.dilation[0] !== 1 || g.dilation[1] !== 1 || input.length !== 4) return false;
  const [oh, ow] = convOutputSize(g, input[2]!, input[3]!);
  if (input[0]! * oh * ow <= 16 || input[1]! * g.kernel[0] * g.kernel[1] <= 16 || outChannels <= 16) return false;
  const pointwise = g.kernel[0] === 1 && g.kernel[1] === 1 && g.padding[0] === 0 && g.padding[1] === 0;
  if (pointwise) return (g.stride[0] === 1 && g.stride[1] === 1) || oh * ow <= 49;
  return oh * ow <= 4;
}

/** Whether this machine's CPU has the units the 'auto' choice was measured with. */
export function matmulUnits(): boolean {
  return cpuFlags().has('amx_bf16');
}

/**
 * The convolution of channels-last x [N, C, H, W] with `weight` flattened to [O, C * kh * kw]
 * (a contiguous [O, C, kh, kw] weight's order), returned channels-last [N, O, OH, OW].
 */
export function convolutionAsMatmul(x: Tensor, weight: Tensor, bias: Tensor | null, g: ConvGeometry): Tensor {
  return tidy(() => {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const [oh, ow] = convOutputSize(g, h, w);
    const pointwise = g.kernel[0] === 1 && g.kernel[1] === 1 && g.padding[0] === 0 && g.padding[1] === 0;
    let rows: Tensor;
    if (pointwise) {
      const picked = g.stride[0] === 1 && g.stride[1] === 1 ? x : x.slice(2, 0, undefined, g.stride[0]).slice(3, 0, undefined, g.stride[1]);
      rows = picked.permute([0, 2, 3, 1]).reshape([n * oh * ow, c]);
    } else {
      rows = F.unfold(x, g.kernel, { stride: g.stride, padding: g.padding, dilation: g.dilation }).transpose(1, 2).reshape([n * oh * ow, c * g.kernel[0] * g.kernel[1]]);
    }
    const out = weight.shape[0]!;
    return F.linear(rows, weight, bias).view([n, oh, ow, out]).permute([0, 3, 1, 2]);
  });
}
