// Building a model by architecture name (what configs and the CLI's --arch refer to).
import { EmbeddingModel } from './embedding.js';
import { RESNET_SPECS, ResNetBackbone, type ResNetArch } from './resnet.js';

export const ARCHS = Object.keys(RESNET_SPECS) as ResNetArch[];
export type Arch = ResNetArch;

export interface ModelConfig {
  arch: Arch;
  /** Embedding dimension D (the DML literature's default is 128). */
  embedDim: number;
  /** Image channels: 3 (RGB, the default) or 1 (MNIST-like). */
  inChannels?: number;
}

export function isArch(name: string): name is Arch {
  return (ARCHS as string[]).includes(name);
}

export function createModel(config: ModelConfig): EmbeddingModel {
  if (!isArch(config.arch)) throw new Error(`unknown arch '${String(config.arch)}'; expected one of ${ARCHS.join(', ')}`);
  const base = RESNET_SPECS[config.arch];
  const backbone = new ResNetBackbone({ ...base, inChannels: config.inChannels ?? base.inChannels });
  return new EmbeddingModel(backbone, config.embedDim);
}
