// Experiment presets. Their settings were fixed by a rule stated before any test number was seen:
// the MDProp authors' training-time attack (eps 0.01 in normalised units, 1 iteration, T = 5),
// the project's defaults for the embedded data (small ResNet from scratch, Adam 1e-3, chosen
// because 1e-5 barely lowers the training loss of a network trained from scratch), the model of
// the final epoch, and attack budgets spanning weak to strong (eps 0.03, 0.1, 0.3 in normalised
// units, 10 PGD iterations). Nothing here was tuned on the test split.
import type { AttackName } from '../adversarial/index.js';
import type { MethodName } from '../methods/index.js';
import type { TrainOptions } from '../train/index.js';

export interface ExperimentPreset {
  readonly description: string;
  readonly methods: readonly MethodName[];
  readonly seeds: readonly number[];
  readonly train: Omit<TrainOptions, 'out' | 'seed' | 'method'>;
  readonly attacks: readonly AttackName[];
  readonly eps: readonly number[];
  readonly iters: number;
  /** Attacked queries per run (a seeded subset of the test set; the gallery stays whole). */
  readonly limit: number;
}

export const PRESETS = {
  quick: {
    description: 'baseline vs MDProp on the embedded Fashion-MNIST, 3 seeds: about 20 minutes on 2 cores',
    methods: ['baseline', 'mdprop'],
    seeds: [0, 1, 2],
    // 2,000 test images (of 35,000) for the per-epoch evaluation keep the preset near 20 minutes.
    train: { dataset: 'fashion-mnist', limitTest: 2000 },
    attacks: ['stax', 'mtax', 'untargeted'],
    eps: [0.03, 0.1, 0.3],
    iters: 10,
    limit: 300,
  },
  study: {
    description: 'baseline, AdvProp-D and MDProp on Fashion-MNIST, 5 seeds, 4x the data, 8 epochs: hours on 2 cores',
    methods: ['baseline', 'advprop-d', 'mdprop'],
    seeds: [0, 1, 2, 3, 4],
    train: { dataset: 'fashion-mnist', limitTrain: 8000, epochs: 8 },
    attacks: ['stax', 'mtax', 'untargeted', 'fgsm'],
    eps: [0.01, 0.03, 0.1, 0.3],
    iters: 10,
    limit: 1000,
  },
} as const satisfies Record<string, ExperimentPreset>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];
