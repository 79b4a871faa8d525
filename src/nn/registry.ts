// Building a model by architecture name (what configs and the CLI's --arch refer to).
import { C2f2Backbone } from './c2f2.js';
import { EmbeddingModel } from './embedding.js';
import { RESNET_SPECS, ResNetBackbone, type ResNetArch } from './resnet.js';

/** The ResNets, and c2f2 (RobRank's small 28x28 network, src/nn/c2f2.ts) without and with batch norm. */
export type Arch = ResNetArch | 'c2f2' | 'c2f2-bn';
export const ARCHS: Arch[] = [...(Object.keys(RESNET_SPECS) as ResNetArch[]), 'c2f2', 'c2f2-bn'];

export interface ModelConfig {
  arch: Arch;
  /** Embedding dimension D (the DML literature's default is 128). */
  embedDim: number;
  /** Image channels: 3 (RGB, the default) or 1 (MNIST-like). */
  inChannels?: number;
}

/** Whether the network has batch norms (every architecture but c2f2), so that a method's BN branches exist. */
export function archHasBatchNorm(arch: Arch): boolean {
  return arch !== 'c2f2';
}

export function isArch(name: string): name is Arch {
  return (ARCHS as string[]).includes(name);
}

export function createModel(config: ModelConfig): EmbeddingModel {
  if (!isArch(config.arch)) throw new Error(`unknown arch '${String(config.arch)}'; expected one of ${ARCHS.join(', ')}`);
  if (config.arch === 'c2f2' || config.arch === 'c2f2-bn') return new EmbeddingModel(new C2f2Backbone(config.inChannels ?? 1, config.arch === 'c2f2-bn'), config.embedDim);
  const base = RESNET_SPECS[config.arch];
  const backbone = new ResNetBackbone({ ...base, inChannels: config.inChannels ?? base.inChannels });
  return new EmbeddingModel(backbone, config.embedDim);
}
