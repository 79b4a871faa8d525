// Moving a run's learned state in and out of files: the run's model file (src/formats/model-file.ts)
// and the full state of a checkpoint (every BN branch, optimizer, loss).
import type { DmlLoss } from '../dml/index.js';
import { methodName, writeModelFile } from '../formats/index.js';
import type { EmbeddingModel } from '../nn/index.js';
import type { AnyOptimizer, LrScheduler } from '../optim/index.js';
import { noGrad, tidy, type Tensor } from '../torch/index.js';
import { disposeCheckpoint, type Checkpoint, type TrainerState } from './checkpoint.js';
import type { TrainConfig } from './config.js';

/** Writes the run's model: branch 0 with the run's settings in its metadata, its other branches beside it. */
export function writeRunModel(path: string, model: EmbeddingModel, config: TrainConfig, epoch: number, metrics: Record<string, number>): void {
  writeModelFile(path, model, {
    arch: config.arch,
    embedDim: config.embedDim,
    inChannels: config.channels,
    imageSize: config.imageSize,
    testResize: config.testResize,
    normalization: config.normalization,
    method: methodName(config.method),
    dataset: config.dataset,
    epoch,
    metrics: metrics['recall@1'] === undefined ? {} : { 'recall@1': metrics['recall@1'] },
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
