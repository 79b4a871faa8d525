// Checkpoints: a round trip keeps every tensor and field; a save that dies half-way, or between
// its two renames, leaves the previous checkpoint whole and loadable; a damaged file is named.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { OptimizerState } from '../../src/optim/index.js';
import { liveTensors, tensor, tidy, type Tensor } from '../../src/torch/index.js';
import { disposeCheckpoint, findCheckpoint, loadCheckpoint, saveCheckpoint, type Checkpoint, type TrainerState } from '../../src/formats/index.js';
import { tempDir } from './helpers.js';

function trainerState(epoch: number): TrainerState {
  return {
    epoch,
    step: epoch * 4,
    sampler: { kind: 'class-balanced', seed: 1, batchSize: 8, samplesPerClass: 2, size: 32, labelsHash: '00000000', epoch: epoch - 1, batch: 4 },
    scheduler: { epoch, baseLrs: [0.1] },
    partialEpoch: null,
    best: { epoch, metrics: { 'recall@1': 0.5 } },
    lastEval: null,
    trainSeconds: 1.5,
    evalSeconds: 0.5,
    samplesPerBranch: [32, 16, 16],
    metricsBytes: 100,
  };
}

/** A checkpoint whose tensors all hold `value`. */
function makeCheckpoint(value: number, epoch: number): Checkpoint {
  const optimizer: OptimizerState = {
    tensors: new Map([['state.0.exp_avg', tensor([value, value], [2])]]),
    meta: { format: 'mdprop.optim/1', optimizer: 'adam', groups: [{ name: 'backbone', size: 1, hyper: { lr: 0.1 } }], params: [{ shape: [2], step: epoch, buffers: ['exp_avg'] }] },
  };
  return {
    model: new Map<string, Tensor>([
      ['conv1.weight', tensor([value, value, value], [3])],
      ['bn1.aux.0.running_mean', tensor([value], [1])],
      ['bn1.num_batches_tracked', tensor([epoch], [1], { dtype: 'int64' })],
    ]),
    optimizer,
    loss: new Map([['loss.0', tensor([value], [1])]]),
    trainer: trainerState(epoch),
  };
}

function save(dir: string, value: number, epoch: number, afterFile?: (name: string) => void): void {
  tidy(() => saveCheckpoint(dir, makeCheckpoint(value, epoch), { afterFile }));
}

/** The value the checkpoint's tensors hold, checking they all agree, and its epoch. */
function loaded(dir: string): { value: number; epoch: number } {
  return tidy(() => {
    const c = loadCheckpoint(dir);
    const all = [...c.model.values(), ...c.optimizer.tensors.values(), ...c.loss.values()];
    const value = c.model.get('conv1.weight')!.toNumbers()[0]!;
    for (const t of all) if (t.dtype === 'float32') assert.ok(t.toNumbers().every((v) => v === value));
    assert.equal(c.model.get('bn1.num_batches_tracked')!.dtype, 'int64');
    assert.equal(c.optimizer.meta.params[0]!.step, c.trainer.epoch);
    return { value, epoch: c.trainer.epoch };
  });
}

describe('checkpoints', () => {
  it('round-trip every tensor, the optimizer meta and the trainer state', () => {
    const dir = tempDir('ckpt');
    const before = liveTensors();
    save(dir, 1.25, 3);
    const c = loadCheckpoint(dir);
    assert.deepEqual(c.trainer, trainerState(3));
    assert.deepEqual([...c.model.keys()].sort(), ['bn1.aux.0.running_mean', 'bn1.num_batches_tracked', 'conv1.weight']);
    assert.deepEqual(c.model.get('conv1.weight')!.toNumbers(), [1.25, 1.25, 1.25]);
    assert.equal(c.optimizer.meta.optimizer, 'adam');
    disposeCheckpoint(c);
    assert.equal(liveTensors(), before);
  });

  it('keep the previous checkpoint when a save dies half-way', () => {
    const dir = tempDir('ckpt');
    save(dir, 1, 1);
    for (const failAfter of ['model.safetensors', 'optimizer.safetensors', 'loss.safetensors', 'optimizer.json', 'trainer.json']) {
      assert.throws(
        () =>
          save(dir, 2, 2, (name) => {
            if (name === failAfter) throw new Error('simulated crash');
          }),
        /simulated crash/,
      );
      assert.deepEqual(loaded(dir), { value: 1, epoch: 1 }, `after a crash following ${failAfter}`);
    }
    assert.ok(existsSync(join(dir, 'checkpoint.next')), 'the unfinished checkpoint stays aside');
    save(dir, 3, 3);
    assert.deepEqual(loaded(dir), { value: 3, epoch: 3 });
    assert.ok(!existsSync(join(dir, 'checkpoint.next')) && !existsSync(join(dir, 'checkpoint.prev')));
  });

  it('find the previous checkpoint when a save dies between its two renames', () => {
    const dir = tempDir('ckpt');
    save(dir, 1, 1);
    renameSync(join(dir, 'checkpoint'), join(dir, 'checkpoint.prev'));
    assert.equal(findCheckpoint(dir), join(dir, 'checkpoint.prev'));
    assert.deepEqual(loaded(dir), { value: 1, epoch: 1 });
    save(dir, 2, 2);
    assert.deepEqual(loaded(dir), { value: 2, epoch: 2 });
  });

  it('name a damaged file and a missing checkpoint', () => {
    const dir = tempDir('ckpt');
    assert.throws(() => loadCheckpoint(dir), /no checkpoint \(expected .*checkpoint\/manifest\.json\)/);
    save(dir, 1, 1);
    truncateSync(join(dir, 'checkpoint', 'model.safetensors'), 10);
    assert.throws(() => loadCheckpoint(dir), /checkpoint\/model\.safetensors: 10 bytes, the manifest says \d+; the checkpoint is damaged/);
  });

  it('name the field of a hand-edited trainer.json (same size, so the manifest cannot tell)', () => {
    const dir = tempDir('ckpt');
    save(dir, 1, 1);
    const file = join(dir, 'checkpoint', 'trainer.json');
    const text = readFileSync(file, 'utf8');
    const edited = text.replace(/"step": (\d)/, '"step":-$1');
    assert.equal(edited.length, text.length);
    writeFileSync(file, edited);
    assert.throws(() => loadCheckpoint(dir), /checkpoint\/trainer\.json: "step": /);
  });
});
