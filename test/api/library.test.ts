// The library's entry points as a program uses them: train() with typed options (a preset or a
// method written as data, the unadversarial kind included), evaluate() of the run, the model file
// read back with the settings train() recorded, and errors that name options, not flags.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, evaluate, loadModel, OptionError, RunDirectory, train, type MethodSpec } from '../../src/index.js';
import { liveTensors } from '../../src/torch/index.js';
import { tempDir } from '../train/helpers.js';

const TINY = { dataset: 'mnist', embedDim: 16, epochs: 1, batchSize: 8, limitTrain: 32, limitTest: 40, evalBatchSize: 20, threads: 1, seed: 3 } as const;

/** Four branches: STAX, an untargeted half and helpful (unadversarial) examples of the whole batch. */
const CUSTOM: MethodSpec = {
  name: 'stax-untargeted-helpful',
  branches: 4,
  distributions: [
    { kind: 'targeted', targets: 1, eps: 0.01, iters: 1, part: [0, 0.5], branch: 1 },
    { kind: 'untargeted', targets: 1, eps: 0.01, iters: 2, part: [0.5, 1], branch: 2 },
    { kind: 'unadversarial', targets: 1, eps: 0.02, iters: 1, part: [0, 1], branch: 3 },
  ],
};

describe('the library API', () => {
  it('trains a method written as data (unadversarial included) and records it in config.json', async () => {
    const out = join(tempDir('api'), 'custom');
    const before = liveTensors();
    const summary = await train({ ...TINY, method: CUSTOM, out });
    assert.equal(liveTensors(), before, 'train() frees what it made');
    assert.equal(summary.method, 'stax-untargeted-helpful');
    // 4 steps of 8 images: every branch saw its part of every batch (4 + 4 + 8 per step).
    assert.deepEqual(summary.samples_per_branch, [32, 16, 16, 32]);
    const config = new RunDirectory(out).readConfig();
    assert.deepEqual(config.method, CUSTOM);
    const saved = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { method: unknown };
    assert.deepEqual(saved.method, CUSTOM);

    // The model file carries what embedding and evaluation need; branch 3 is the same epoch's.
    const loaded = loadModel(join(out, 'model.safetensors'), { branch: 3 });
    try {
      assert.deepEqual([loaded.arch, loaded.embedDim, loaded.inChannels, loaded.branches, loaded.branch], ['resnet-small', 16, 1, 4, 3]);
      assert.equal(loaded.metadata?.method, 'stax-untargeted-helpful');
    } finally {
      loaded.model.dispose();
    }

    const result = await evaluate(out, { attacks: ['stax'], eps: [0.05], iters: 2, limit: 10, out: null });
    assert.deepEqual(result.attacks.map((a) => [a.attack, a.eps, a.iters]), [['stax', 0.05, 2]]);
    assert.equal(result.settings.queries, 10);
    assert.ok(result.clean['recall@1']! >= 0 && result.clean['recall@1']! <= 1);
  });

  it('names the option or field at fault, not a command-line flag', async () => {
    const out = join(tempDir('api'), 'bad');
    await assert.rejects(train({ ...TINY, batchSize: 7, samplesPerClass: 2, out }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /^batchSize 7 is not a multiple of samplesPerClass 2$/);
      assert.match(err.render((f) => `--${f}`), /^--batchSize 7/);
      return true;
    });
    const broken = { ...CUSTOM, distributions: [{ ...CUSTOM.distributions[0]!, kind: 'sideways' }] } as unknown as MethodSpec;
    await assert.rejects(train({ ...TINY, method: broken, out }), /method: "distributions\[0\]\.kind"/);
    const outOfRange = { ...CUSTOM, distributions: [{ ...CUSTOM.distributions[0]!, branch: 7 }] };
    await assert.rejects(train({ ...TINY, method: outOfRange, out }), /method: method 'stax-untargeted-helpful': distributions\[0\]\.branch must be an auxiliary branch 1\.\.3/);
    await assert.rejects(evaluate(join(out, 'nowhere'), { eps: [-1] }), (err: unknown) => err instanceof OptionError && err.option === 'eps');
    await assert.rejects(evaluate(join(out, 'nowhere'), {}), (err: unknown) => err instanceof OptionError && err.option === 'run' && /not a run directory/.test(err.message));
  });
});
