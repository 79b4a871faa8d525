// The trainer end to end on tiny MNIST runs: the run directory's contract, exact resume (after an
// epoch and after a stop mid-epoch), the NaN stop that keeps the last good checkpoint, and
// pretrained weights with a head of another shape.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createModel, type EmbeddingModel } from '../../src/nn/index.js';
import { liveTensors, readSafetensors, tidy, writeSafetensors } from '../../src/torch/index.js';
import { disposeCheckpoint, loadCheckpoint, RunDirectory } from '../../src/formats/index.js';
import {
  CONFIG_FIELDS,
  loadPretrained,
  resolveResumeConfig,
  summaryMetrics,
  resumeRun,
  startRun,
  type Trainer,
  TrainingDiverged,
  TrainingInterrupted,
  type TrainConfig,
  type TrainerHooks,
} from '../../src/train/index.js';
import { tempDir, timeless, tinyConfig } from './helpers.js';

async function train(config: TrainConfig, hooks: TrainerHooks = {}): Promise<void> {
  const trainer = await startRun(config, hooks);
  try {
    await trainer.train();
  } finally {
    trainer.dispose();
  }
}

async function resume(dir: string, flags: Record<string, string> = {}): Promise<void> {
  const trainer = await resumeRun(resolveResumeConfig(dir, flags));
  try {
    await trainer.train();
  } finally {
    trainer.dispose();
  }
}

function metricsOf(dir: string): object[] {
  return timeless(new RunDirectory(dir).readMetrics());
}

function bytes(path: string): Buffer {
  return readFileSync(path);
}

describe('Trainer', () => {
  it('leaves a complete run directory and frees its tensors', async () => {
    const out = tempDir('run');
    const config = tinyConfig(out, { method: 'advprop-d' });
    const before = liveTensors();
    await train(config);
    assert.equal(liveTensors(), before, 'tensors left alive after dispose');

    const saved = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(saved).sort(), [...CONFIG_FIELDS].sort());
    assert.deepEqual(saved, { ...config });

    const lines = new RunDirectory(out).readMetrics();
    assert.deepEqual(lines.map((l) => `${l.kind}${l.epoch}`), ['epoch1', 'eval1', 'epoch2', 'eval2']);
    for (const line of lines) {
      if (line.kind === 'epoch') {
        assert.ok(Number.isFinite(line.loss) && line.seconds > 0 && line.lr === config.lr && line.steps > 0);
        assert.equal(line.samples_per_branch.length, 2);
        assert.equal(line.samples_per_branch[0], line.samples_per_branch[1], 'advprop-d attacks the whole batch');
      } else {
        for (const key of summaryMetrics('fashion-mnist')) assert.ok(Number.isFinite(line.metrics[key]), `${key} in the eval line`);
      }
    }

    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(summary.method, 'advprop-d');
    assert.equal(summary.dataset, 'mnist');
    assert.equal(summary.epochs, 2);
    assert.ok(typeof summary.train_seconds === 'number' && summary.train_seconds > 0);
    const test = summary.test as Record<string, number>;
    for (const key of summaryMetrics('fashion-mnist')) assert.ok(Number.isFinite(test[key]), `summary test.${key}`);
    // By default the model is the final epoch's, and "test" holds its metrics, not the best epoch's.
    assert.equal(summary.model_selection, 'final');
    assert.equal(summary.model_epoch, 2);
    const final = lines.find((l) => l.kind === 'eval' && l.epoch === 2);
    assert.deepEqual(final && final.kind === 'eval' ? final.metrics : null, test);

    // model.safetensors: branch 0 only, torchvision names, loadable by a plain model.
    const file = readSafetensors(join(out, 'model.safetensors'));
    assert.equal(file.metadata.epoch, '2');
    assert.ok(![...file.tensors.keys()].some((k) => k.includes('.aux.')));
    assert.deepEqual(
      { arch: file.metadata.arch, embed_dim: file.metadata.embed_dim, method: file.metadata.method, in_channels: file.metadata.in_channels },
      { arch: 'resnet-small', embed_dim: '16', method: 'advprop-d', in_channels: '1' },
    );
    const plain = createModel({ arch: 'resnet-small', embedDim: 16, inChannels: 1 });
    plain.loadStateDict(file.tensors);
    plain.dispose();
    for (const t of file.tensors.values()) t.dispose();

    // The checkpoint: every branch, the optimizer, the position after the last epoch.
    const checkpoint = loadCheckpoint(out);
    assert.ok([...checkpoint.model.keys()].some((k) => k.includes('.aux.0.')));
    assert.equal(checkpoint.trainer.epoch, 2);
    assert.equal(checkpoint.trainer.partialEpoch, null);
    assert.ok(checkpoint.optimizer.meta.params.some((p) => p.step > 0));
    disposeCheckpoint(checkpoint);
  });

  it('resumes exactly: after an epoch and after a stop mid-epoch, the metrics equal an uninterrupted run', async () => {
    const whole = tempDir('whole');
    await train(tinyConfig(whole, { method: 'mdprop' }));

    const afterEpoch = tempDir('after-epoch');
    await train(tinyConfig(afterEpoch, { method: 'mdprop', epochs: '1' }));
    await resume(afterEpoch, { epochs: '2' });

    const midEpoch = tempDir('mid-epoch');
    let trainer: Trainer | undefined;
    let ticks = 0;
    const hooks: TrainerHooks = {
      progress: () => ({
        tick: () => {
          if (++ticks === 2) trainer?.requestStop();
        },
        stop() {},
      }),
    };
    trainer = await startRun(tinyConfig(midEpoch, { method: 'mdprop' }), hooks);
    await assert.rejects(trainer.train(), (err: unknown) => err instanceof TrainingInterrupted && err.epoch === 1 && err.stepInEpoch === 2);
    trainer.dispose();
    assert.equal(loadCheckpointTrainer(midEpoch).partialEpoch?.steps, 2);
    await resume(midEpoch);

    const expected = metricsOf(whole);
    assert.equal(expected.length, 4);
    assert.deepEqual(metricsOf(afterEpoch), expected);
    assert.deepEqual(metricsOf(midEpoch), expected);
    for (const dir of [afterEpoch, midEpoch]) {
      assert.ok(bytes(join(dir, 'model.safetensors')).equals(bytes(join(whole, 'model.safetensors'))), `${dir}: best weights differ`);
      assert.ok(bytes(join(dir, 'checkpoint/model.safetensors')).equals(bytes(join(whole, 'checkpoint/model.safetensors'))), `${dir}: last weights differ`);
    }
  });

  it('stops on a non-finite loss and keeps the last good checkpoint', async () => {
    const out = tempDir('nan');
    const config = tinyConfig(out, { lr: '1e30', epochs: '3' });
    const trainer = await startRun(config);
    const initial = bytes(join(out, 'checkpoint/model.safetensors'));
    await assert.rejects(trainer.train(), (err: unknown) => {
      assert.ok(err instanceof TrainingDiverged, String(err));
      assert.match(err.message, /epoch 1, step \d+\/\d+: the loss or the embeddings are NaN \(not finite\); training stopped without applying that step/);
      assert.match(err.message, /The last good checkpoint \(at the start\) is kept in .*checkpoint.*Lower the learning rate lr \(now 1e\+30\)/);
      return true;
    });
    trainer.dispose();
    assert.ok(bytes(join(out, 'checkpoint/model.safetensors')).equals(initial), 'the checkpoint was overwritten');
    const state = loadCheckpointTrainer(out);
    assert.equal(state.epoch, 0);
  });

  it('loads pretrained weights, keeping a fresh head when the file has another one', () => {
    const dir = tempDir('pretrained');
    const donor = createModel({ arch: 'resnet-small', embedDim: 10, inChannels: 1 });
    const file = join(dir, 'donor.safetensors');
    tidy(() => writeSafetensors(file, donor.stateDict()));
    const model = createModel({ arch: 'resnet-small', embedDim: 16, inChannels: 1 });
    const headBefore = snapshot(model, 'fc.weight');
    const notes = loadPretrained(model, file);
    assert.match(notes[0]!, /head \(fc\.bias \[10\], fc\.weight \[10, 128\]\) does not fit the model's \(fc\.weight \[16, 128\], fc\.bias \[16\]\); the head starts freshly initialised/);
    assert.deepEqual(snapshot(model, 'conv1.weight'), snapshot(donor, 'conv1.weight'));
    assert.deepEqual(snapshot(model, 'fc.weight'), headBefore);
    const wrong = createModel({ arch: 'resnet-small', embedDim: 10, inChannels: 3 });
    assert.throws(() => loadPretrained(wrong, file), /pretrained .*donor\.safetensors: state dict does not match the model:\n {2}shape mismatches \(1\): conv1\.weight/);
    for (const m of [donor, model, wrong]) m.dispose();
  });
});

function loadCheckpointTrainer(dir: string) {
  const checkpoint = loadCheckpoint(dir);
  disposeCheckpoint(checkpoint);
  return checkpoint.trainer;
}

function snapshot(model: EmbeddingModel, name: string): number[] {
  return tidy(() => model.stateDict().get(name)!.toNumbers());
}
