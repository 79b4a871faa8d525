// Defaults that depend on the dataset, read from its table entry: its image protocol and its paper
// batch. Small grey images (Fashion-MNIST, MNIST: 28x28) train a small network from scratch on a
// CPU in minutes; photos get the authors' settings (ResNet-50 at 224, Adam 1e-5, weight decay 4e-4,
// 2 images per class, multi-similarity).
import { availableParallelism } from 'node:os';
import { DATASETS, type DatasetName, type ImageProtocol } from '../data/index.js';
import type { TrainConfig } from './config.js';

export type DefaultedConfig = Omit<TrainConfig, 'dataset' | 'out'>;

const COMMON = {
  dataRoot: null,
  preset: null,
  fromScratch: false,
  sampling: 'balanced',
  auxBnInit: 'copy',
  method: 'mdprop',
  embedDim: 128,
  pretrained: null,
  loss: 'multisimilarity',
  optimizer: 'adam',
  samplesPerClass: 2,
  lrHead: null,
  lrMainBn: null,
  lrAuxBn: null,
  weightDecay: 4e-4,
  schedule: 'constant',
  eps: 0.01,
  attackIters: 1,
  attackStep: null,
  augment: true,
  normalization: 'mean-std',
  mtaxTargets: 5,
  evalEvery: 1,
  checkpointEvery: 0,
  modelSelection: 'final',
  skipBadImages: false,
  seed: 0,
  device: 'cpu',
  worldSize: 1,
  syncBn: false,
  precision: 'fp32',
  memoryFormat: 'contiguous',
} as const satisfies Partial<DefaultedConfig>;

/** What suits each image protocol. Measured: Adam 1e-3 trains resnet-small from scratch; 1e-5 barely moves it. */
const BY_IMAGES = {
  'small-grey': { arch: 'resnet-small', lr: 1e-3, epochs: 4, limitTrain: 2000, limitTest: 5000, evalBatchSize: 256 },
  imagenet: { arch: 'resnet50', lr: 1e-5, epochs: 125, limitTrain: null, limitTest: null, evalBatchSize: 64 },
} as const satisfies Record<ImageProtocol['name'], Partial<DefaultedConfig>>;

export function datasetDefaults(dataset: DatasetName): DefaultedConfig {
  const { images, paperBatch } = DATASETS[dataset];
  return {
    ...COMMON,
    ...BY_IMAGES[images.name],
    channels: images.channels,
    imageSize: images.size,
    testResize: images.testResize,
    minCropScale: images.minCropScale,
    batchSize: paperBatch,
    threads: Math.max(1, availableParallelism()),
  };
}

/** `runs/<dataset>-<method>-<YYYYMMDD-HHMMSS>` in local time. */
export function defaultRunDir(dataset: string, method: string, now: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${two(now.getMonth() + 1)}${two(now.getDate())}-${two(now.getHours())}${two(now.getMinutes())}${two(now.getSeconds())}`;
  return `runs/${dataset}-${method}-${stamp}`;
}
