// The state dict an embedding model would have (every key with its shape and dtype), worked out
// from the architecture's numbers alone, without making a tensor. A file's header can be checked
// against it before any memory is spent on the model. A test keeps it equal to createModel's.
import type { DType } from '../torch/index.js';
import { C2F2 } from './c2f2.js';
import { RESNET_SPECS } from './resnet.js';
import { EXPANSION } from './resnet-blocks.js';
import type { ModelConfig } from './registry.js';

export interface StateEntrySpec {
  shape: number[];
  dtype: DType;
}

export type StateShapes = Map<string, StateEntrySpec>;

/** Keys, shapes and dtypes of createModel(config) converted to `branches` BN branches. */
export function modelStateShapes(config: ModelConfig, branches = 1): StateShapes {
  const out: StateShapes = new Map();
  const f32 = (name: string, shape: number[]) => out.set(name, { shape, dtype: 'float32' });
  const bn = (name: string, c: number) => {
    for (let k = 0; k < branches; k++) {
      const prefix = k === 0 ? name : `${name}.aux.${k - 1}`;
      for (const p of ['weight', 'bias', 'running_mean', 'running_var']) f32(`${prefix}.${p}`, [c]);
      out.set(`${prefix}.num_batches_tracked`, { shape: [], dtype: 'int64' });
    }
  };
  if (config.arch === 'c2f2' || config.arch === 'c2f2-bn') {
    const withBn = config.arch === 'c2f2-bn';
    f32('conv1.weight', [C2F2.conv1, config.inChannels ?? 1, C2F2.kernel, C2F2.kernel]);
    f32('conv1.bias', [C2F2.conv1]);
    if (withBn) bn('bn1', C2F2.conv1);
    f32('conv2.weight', [C2F2.conv2, C2F2.conv1, C2F2.kernel, C2F2.kernel]);
    f32('conv2.bias', [C2F2.conv2]);
    if (withBn) bn('bn2', C2F2.conv2);
    f32('fc1.weight', [C2F2.hidden, C2F2.conv2 * (C2F2.side / 4) ** 2]);
    f32('fc1.bias', [C2F2.hidden]);
    if (withBn) bn('bn3', C2F2.hidden);
    f32('fc.weight', [config.embedDim, C2F2.hidden]);
    f32('fc.bias', [config.embedDim]);
    return out;
  }
  const spec = RESNET_SPECS[config.arch];
  const conv = (name: string, outC: number, inC: number, k: number) => f32(`${name}.weight`, [outC, inC, k, k]);
  const imagenet = spec.stem === 'imagenet';
  const stemWidth = imagenet ? 64 : spec.widths[0];
  conv('conv1', stemWidth, config.inChannels ?? spec.inChannels, imagenet ? 7 : 3);
  bn('bn1', stemWidth);
  let channels = stemWidth;
  const expansion = EXPANSION[spec.block];
  spec.blocks.forEach((count, stage) => {
    const width = spec.widths[stage]!;
    for (let i = 0; i < count; i++) {
      const name = `layer${stage + 1}.${i}`;
      const stride = i === 0 && stage > 0 ? 2 : 1;
      const outC = width * expansion;
      if (spec.block === 'basic') {
        conv(`${name}.conv1`, width, channels, 3);
        bn(`${name}.bn1`, width);
        conv(`${name}.conv2`, width, width, 3);
        bn(`${name}.bn2`, width);
      } else {
        conv(`${name}.conv1`, width, channels, 1);
        bn(`${name}.bn1`, width);
        conv(`${name}.conv2`, width, width, 3);
        bn(`${name}.bn2`, width);
        conv(`${name}.conv3`, outC, width, 1);
        bn(`${name}.bn3`, outC);
      }
      if (stride !== 1 || channels !== outC) {
        conv(`${name}.downsample.0`, outC, channels, 1);
        bn(`${name}.downsample.1`, outC);
      }
      channels = outC;
    }
  });
  f32('fc.weight', [config.embedDim, channels]);
  f32('fc.bias', [config.embedDim]);
  return out;
}
