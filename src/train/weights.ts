// Moving a run's learned state in and out of files: the deployable model (branch 0 only, under
// torchvision's names) and the full state of a checkpoint (every BN branch, optimizer, loss).
import type { DmlLoss } from '../dml/index.js';
import type { EmbeddingModel } from '../nn/index.js';
import type { AnyOptimizer, LrScheduler } from '../optim/index.js';
import { noGrad, tidy, writeSafetensors, type Tensor } from '../torch/index.js';
import { disposeCheckpoint, type Checkpoint, type TrainerState } from './checkpoint.js';
import type { TrainConfig } from './config.js';

export const MODEL_FORMAT = 'mdprop.model/1';

/** Keys of auxiliary BN branches (`<bn path>.aux.<k-1>.*`): training-only state. */
const AUX_KEY = /(^|\.)aux\.\d+\./;

export function isAuxKey(name: string): boolean {
  return AUX_KEY.test(name);
}

/**
 * Writes the clean branch of the model (what `mdprop embed` and evaluation use) with its
 * settings in the metadata: arch, embed_dim, in_channels, image_size, method, epoch.
 */
export function writeDeployableModel(path: string, model: EmbeddingModel, config: TrainConfig, epoch: number, metrics: Record<string, number>): void {
  tidy(() => {
    const state = new Map<string, Tensor>();
    for (const [name, t] of model.stateDict()) if (!isAuxKey(name)) state.set(name, t.device === 'cpu' ? t : t.to('cpu'));
    writeSafetensors(path, state, {
      format: MODEL_FORMAT,
      arch: config.arch,
      embed_dim: String(config.embedDim),
      in_channels: String(config.channels),
      image_size: String(config.imageSize),
      test_resize: String(config.testResize),
      method: config.method,
      dataset: config.dataset,
      epoch: String(epoch),
      'recall@1': String(metrics['recall@1'] ?? ''),
    });
  });
}

export interface LearnedState {
  model: EmbeddingModel;
  optimizer: AnyOptimizer;
  criterion: DmlLoss;
  scheduler: LrScheduler;
}

/** The loss's own parameters by position (`loss.<i>`): their names are not stable across losses. */
function lossState(criterion: DmlLoss): Map<string, Tensor> {
  return new Map(criterion.parameters().map((p, i) => [`loss.${i}`, p.detach()]));
}

/** Runs `use` with a checkpoint of the current state; its tensors are freed afterwards. */
export function withCheckpoint(learned: LearnedState, trainer: TrainerState, use: (checkpoint: Checkpoint) => void): void {
  tidy(() => {
    use({ model: learned.model.stateDict(), optimizer: learned.optimizer.stateDict(), loss: lossState(learned.criterion), trainer });
  });
}

/** Puts a checkpoint's state back into freshly built parts; frees the checkpoint's tensors. */
export function restoreCheckpoint(learned: LearnedState, checkpoint: Checkpoint): void {
  try {
    learned.model.loadStateDict(checkpoint.model);
    learned.optimizer.loadStateDict(checkpoint.optimizer);
    const params = learned.criterion.parameters();
    if (checkpoint.loss.size !== params.length) {
      throw new Error(`the checkpoint holds ${checkpoint.loss.size} loss parameters, the loss has ${params.length}`);
    }
    noGrad(() =>
      params.forEach((p, i) => {
        const saved = checkpoint.loss.get(`loss.${i}`);
        if (!saved || saved.shape.join() !== p.shape.join()) throw new Error(`the checkpoint's loss.${i} does not fit the loss parameter [${p.shape.join(', ')}]`);
        p.copy_(saved);
      }),
    );
    learned.scheduler.loadStateDict(checkpoint.trainer.scheduler);
  } finally {
    disposeCheckpoint(checkpoint);
  }
}
