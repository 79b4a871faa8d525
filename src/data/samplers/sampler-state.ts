// Rebuilding a sampler from a checkpointed state, refusing a state taken on different data.
import { ClassBalancedSampler } from './class-balanced-sampler.js';
import { ClassRandomSampler } from './class-random-sampler.js';
import { RandomSampler, SequentialSampler } from './random-sampler.js';
import { hashLabels, type BatchSampler, type SamplerState } from './sampler.js';

export function restoreSampler(labels: Int32Array, state: SamplerState): BatchSampler {
  if (state.size !== labels.length || state.labelsHash !== hashLabels(labels)) {
    throw new Error(
      `sampler state is for a split of ${state.size} images (labels ${state.labelsHash}), ` +
        `not this one of ${labels.length} (labels ${hashLabels(labels)})`,
    );
  }
  const sampler = ((): BatchSampler => {
    switch (state.kind) {
      case 'class-balanced': {
        const samplesPerClass = state.samplesPerClass ?? 2;
        return new ClassBalancedSampler(labels, { batchSize: state.batchSize, samplesPerClass, seed: state.seed });
      }
      case 'class-random':
        return new ClassRandomSampler(labels, { batchSize: state.batchSize, samplesPerClass: state.samplesPerClass ?? 2, seed: state.seed });
      case 'random':
        return new RandomSampler(labels, { batchSize: state.batchSize, seed: state.seed, dropLast: state.dropLast ?? true });
      case 'sequential':
        return new SequentialSampler(labels, { batchSize: state.batchSize });
      default:
        throw new Error(`unknown sampler kind ${JSON.stringify((state as { kind: unknown }).kind)}`);
    }
  })();
  sampler.seek(state);
  return sampler;
}
