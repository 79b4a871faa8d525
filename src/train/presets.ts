// Named sets of settings a run starts from; the dataset's defaults fill what a preset leaves out,
// and a --config file and flags override it. 'paper' is the MDProp authors' setup as their code
// runs it (github.com/intherejeet/MDProp: train.sh, parameters.py, main.py):
// ImageNet ResNet-50, 128-dim L2-normalised embedding, multi-similarity loss (2, 40, 0.5, 0.1),
// Adam lr 1e-5 with weight decay 4e-4 and no effective schedule (their step at epoch 1000 never
// comes), batches of 64 (SOP 112) with 2 images per class drawn with replacement, 125 epochs,
// MDProp with eps 0.01 in normalised units, 1 iteration, T = 5 for MTAX, auxiliary BNs starting
// from the main ones' scale and shift with fresh running statistics. The datasets it covers and
// their batches are the dataset table's (inPaper, paperBatch).
import { DATASET_NAMES, DATASETS, type DatasetName } from '../data/index.js';
import { ConfigError, setting, type TrainConfig } from './config.js';

export type TrainPreset = NonNullable<TrainConfig['preset']>;

/** The datasets of the paper's protocol. */
export const PAPER_DATASETS: readonly DatasetName[] = DATASET_NAMES.filter((name) => DATASETS[name].inPaper);

/** The settings `preset` sets for `dataset`; throws ConfigError for a dataset it does not cover. */
export function presetSettings(preset: TrainPreset, dataset: DatasetName): Partial<TrainConfig> {
  if (!PAPER_DATASETS.includes(dataset)) {
    throw new ConfigError(`${setting('preset')} ${preset} is the authors' setup for ${PAPER_DATASETS.join(', ')}; ${dataset} has none`);
  }
  return {
    preset,
    method: 'mdprop',
    arch: 'resnet50',
    channels: 3,
    embedDim: 128,
    loss: 'multisimilarity',
    optimizer: 'adam',
    lr: 1e-5,
    lrHead: null,
    lrMainBn: null,
    lrAuxBn: null,
    weightDecay: 4e-4,
    schedule: 'constant',
    epochs: 125,
    batchSize: DATASETS[dataset].paperBatch,
    samplesPerClass: 2,
    sampling: 'with-replacement',
    auxBnInit: 'copy-weights',
    eps: 0.01,
    attackIters: 1,
    mtaxTargets: 5,
    imageSize: 224,
    testResize: 256,
    minCropScale: 0.08,
    limitTrain: null,
    limitTest: null,
  };
}
