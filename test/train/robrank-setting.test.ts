// RobRank's Fashion-MNIST setting as configs/robrank-fashion.json: what it resolves to, the
// transforms it gives (pixels in [0, 1], no augmentation), and the input scaling carried by the
// model file so evaluation attacks in the same space.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { planEvaluation } from '../../src/evaluate/index.js';
import { configSchema, loadModelFile } from '../../src/formats/index.js';
import { createModel } from '../../src/nn/index.js';
import { readFileSync } from 'node:fs';
import { writeRunModelFile as writeRunModel } from '../../src/formats/index.js';
import { ConfigError, flagOf, methodOf, openTrainingData, resolveConfig, train } from '../../src/train/index.js';
import { tempDir } from './helpers.js';

const preset = join(process.cwd(), 'configs/robrank-fashion.json');
const dir = tempDir('robrank');

describe('configs/robrank-fashion.json', () => {
  it('resolves to RobRank’s setting, and --method picks the defense with its training budget', () => {
    const c = resolveConfig({ configFile: preset, flags: { method: 'est', out: join(dir, 'est') } });
    assert.equal(c.dataset, 'fashion-mnist-all');
    assert.equal(c.arch, 'c2f2');
    assert.equal(c.embedDim, 512);
    assert.equal(c.loss, 'pair-triplet');
    assert.deepEqual([c.batchSize, c.samplesPerClass, c.lr, c.weightDecay, c.epochs], [256, 2, 1e-3, 1e-7, 16]);
    assert.deepEqual([c.normalization, c.augment, c.limitTrain, c.limitTest], ['none', false, null, null]);
    const defense = methodOf(c).defense;
    assert.equal(defense?.kind, 'est');
    assert.ok(Math.abs((defense!.eps as number) - 77 / 255) < 1e-12);
    assert.equal(defense!.iters, 32);
    assert.ok(Math.abs((defense!.step as number) - 3 / 255) < 1e-12);
  });

  it('trains on the whole 28x28 images as pixels in [0, 1]: mean 0, std 1, no crop, no flip', async () => {
    const c = resolveConfig({ configFile: preset, flags: { method: 'baseline', out: join(dir, 'base') } });
    const data = await openTrainingData(c);
    assert.equal(data.train.size, 60000);
    assert.equal(data.evaluation.query.size, 10000);
    assert.deepEqual([data.trainTransform.mean, data.trainTransform.std], [[0], [1]]);
    assert.deepEqual([data.testTransform.mean, data.testTransform.std], [[0], [1]]);
    assert.deepEqual([data.trainTransform.scale, data.trainTransform.ratio, data.trainTransform.flipProbability], [[1, 1], [1, 1], 0]);
  });

  it('refuses unknown values of the new settings, naming the flag', () => {
    const bad = (flags: Record<string, string>, pattern: RegExp) =>
      assert.throws(() => resolveConfig({ flags: { dataset: 'fashion-mnist-all', out: 'x', ...flags } }), (err: unknown) => err instanceof ConfigError && pattern.test(err.render(flagOf)));
    bad({ normalization: 'zscore' }, /--normalization: expected mean-std or none, got 'zscore'/);
    bad({ augment: 'maybe' }, /--augment: expected yes or no, got 'maybe'/);
    bad({ attackStep: '-1' }, /--attack-step: expected a positive number or 'none', got '-1'/);
  });

  it('reads a config.json written before the settings existed with their old behaviour', () => {
    const c = resolveConfig({ flags: { dataset: 'mnist', out: 'x' } });
    const { attackStep: _s, augment: _a, normalization: _n, ...old } = c;
    const read = configSchema.parse(old);
    assert.deepEqual([read.attackStep, read.augment, read.normalization], [null, true, 'mean-std']);
  });

  it('records the input scaling in the model file; evaluation of the file alone uses it', () => {
    const c = resolveConfig({ configFile: preset, flags: { method: 'baseline', out: join(dir, 'model') } });
    const path = join(dir, 'model.safetensors');
    const model = createModel({ arch: 'c2f2', embedDim: 512, inChannels: 1 });
    try {
      writeRunModel(path, model, c, 1, {});
    } finally {
      model.dispose();
    }
    const loaded = loadModelFile(path);
    assert.equal(loaded.metadata?.normalization, 'none');
    assert.equal(loaded.arch, 'c2f2');
    const plan = planEvaluation(loaded, { dataset: 'fashion-mnist-all' });
    try {
      assert.deepEqual([plan.compute.transform.mean, plan.compute.transform.std], [[0], [1]]);
    } finally {
      loaded.model.dispose();
    }
  });

  it('trains an HM run end to end: a c2f2 model file with its scaling, the defense in config.json', { timeout: 120_000 }, async () => {
    const settings = JSON.parse(readFileSync(preset, 'utf8')) as Record<string, unknown>;
    const out = join(dir, 'hm-run');
    const summary = await train({
      ...(settings as { dataset: 'fashion-mnist-all' }),
      method: 'hm',
      limitTrain: 64,
      limitTest: 40,
      batchSize: 32,
      epochs: 1,
      attackIters: 2,
      attackStep: null,
      evalBatchSize: 40,
      threads: 1,
      out,
    });
    assert.equal(summary.method, 'hm');
    assert.ok(Number.isFinite(summary.test['recall@1']));
    const loaded = loadModelFile(join(out, 'model.safetensors'));
    try {
      assert.deepEqual([loaded.arch, loaded.embedDim, loaded.metadata?.normalization, loaded.branches], ['c2f2', 512, 'none', 1]);
    } finally {
      loaded.model.dispose();
    }
  });
});
