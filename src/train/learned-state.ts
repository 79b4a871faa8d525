// The learned state of a run in and out of a checkpoint (src/formats/checkpoint.ts): every BN
// branch of the model, the optimizer, the loss's own parameters and the scheduler.
import type { DmlLoss } from '../dml/index.js';
import { disposeCheckpoint, type Checkpoint, type TrainerState } from '../formats/index.js';
import type { EmbeddingModel } from '../nn/index.js';
import type { AnyOptimizer, LrScheduler } from '../optim/index.js';
import { noGrad, tidy, type Tensor } from '../torch/index.js';

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
