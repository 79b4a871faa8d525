// Resolving the training configuration: dataset defaults, --config files (camelCase or flag names),
// flags winning, and errors that name the flag or the file and field at fault.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CONFIG_FIELDS, ConfigError, flagOf, resolveConfig, resolveResumeConfig, type FlagValues } from '../../src/train/index.js';
import { configSchema } from '../../src/formats/index.js';
import { tempDir } from './helpers.js';

const dir = tempDir('config');

function configFile(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** The error as the command line shows it: each setting named by its flag. */
function rejects(flags: FlagValues, pattern: RegExp, configFile?: string): void {
  assert.throws(() => resolveConfig({ flags, configFile }), (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.match(err.render(flagOf), pattern);
    return true;
  });
}

describe('training configuration', () => {
  it('fills every field, with small-model defaults for the embedded datasets', () => {
    const c = resolveConfig({ flags: { dataset: 'fashion-mnist' }, now: new Date(2025, 0, 2, 3, 4, 5) });
    assert.deepEqual(Object.keys(c).sort(), [...CONFIG_FIELDS].sort());
    assert.equal(c.arch, 'resnet-small');
    assert.equal(c.channels, 1);
    assert.equal(c.imageSize, 28);
    assert.equal(c.testResize, 28);
    assert.equal(c.lr, 1e-3);
    assert.equal(c.method, 'mdprop');
    assert.equal(c.out, 'runs/fashion-mnist-mdprop-20250102-030405');
  });

  it('stores the data root resolved, so a run reads the same data from any working folder', () => {
    mkdirSync(join(dir, 'rel-root'), { recursive: true });
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const c = resolveConfig({ flags: { dataset: 'folder', dataRoot: 'rel-root', out: 'x' } });
      assert.equal(c.dataRoot, join(dir, 'rel-root'));
    } finally {
      process.chdir(cwd);
    }
  });

  it("uses the authors' settings for file datasets", () => {
    const root = join(dir, 'cub');
    mkdirSync(root, { recursive: true });
    const c = resolveConfig({ flags: { dataset: 'cub200', dataRoot: root, fromScratch: 'yes', out: join(dir, 'x') } });
    assert.equal(c.arch, 'resnet50');
    assert.equal(c.imageSize, 224);
    assert.equal(c.testResize, 256);
    assert.equal(c.lr, 1e-5);
    assert.equal(c.weightDecay, 4e-4);
    assert.equal(c.batchSize, 64);
    assert.equal(c.samplesPerClass, 2);
    assert.equal(c.loss, 'multisimilarity');
    assert.equal(c.optimizer, 'adam');
    assert.equal(resolveConfig({ flags: { dataset: 'sop', dataRoot: root, fromScratch: 'yes' } }).batchSize, 112);
  });

  it('layers defaults <- config file <- flags; file keys may be camelCase or flag names', () => {
    const file = configFile('layers.json', { dataset: 'mnist', 'batch-size': 16, lr: 0.01, limitTrain: 'all', '--epochs': 7 });
    const c = resolveConfig({ flags: { lr: '0.002' }, configFile: file });
    assert.equal(c.dataset, 'mnist');
    assert.equal(c.batchSize, 16);
    assert.equal(c.epochs, 7);
    assert.equal(c.lr, 0.002);
    assert.equal(c.limitTrain, null);
    assert.equal(resolveConfig({ flags: { dataset: 'mnist', limitTest: 'all', pretrained: 'none' } }).limitTest, null);
  });

  it('names the flag of a bad value', () => {
    rejects({ dataset: 'mnist', epochs: 'three' }, /^--epochs: expected an integer in 1\.\.1000000, got 'three'$/);
    rejects({ dataset: 'mnist', epochs: '0' }, /^--epochs: /);
    rejects({ dataset: 'mnist', lr: '-1' }, /^--lr: expected a positive number/);
    rejects({ dataset: 'mnist', method: 'magic' }, /^--method: expected one of baseline, advprop-d, mdprop, est, act, hm, or a method written as data, got 'magic'$/);
    rejects({ dataset: 'imagenet' }, /^--dataset: /);
    rejects({ dataset: 'mnist', arch: 'vgg' }, /^--arch: /);
    rejects({ dataset: 'mnist', loss: 'hinge' }, /^--loss: /);
    rejects({ dataset: 'mnist', limitTrain: '1.5' }, /^--limit-train: expected a positive integer or 'all'/);
    rejects({ dataset: 'mnist', evalEvery: '-2' }, /^--eval-every: /);
    rejects({ dataset: 'mnist', channels: '2' }, /^--channels: expected 1 or 3/);
    rejects({ dataset: 'mnist', device: 'tpu' }, /^--device: /);
    rejects({ dataset: 'mnist', mtaxTargets: '0' }, /^--mtax-targets: /);
  });

  it('names the file and the field of a bad config value', () => {
    rejects({}, /--config .*bad\.json: "batch-size": expected an integer in 2\.\.65536, got 'big'/, configFile('bad.json', { dataset: 'mnist', 'batch-size': 'big' }));
    rejects({}, /--config .*unknown\.json: unknown setting "learningRate"/, configFile('unknown.json', { dataset: 'mnist', learningRate: 1 }));
    rejects({}, /--config .*twice\.json: "batchSize" and "batch-size" are the same setting/, configFile('twice.json', { batchSize: 8, 'batch-size': 8 }));
    rejects({}, /--config .*broken\.json: not valid JSON/, configFile('broken.json', '{"dataset": '));
    rejects({}, /--config .*resume\.json: "resume" can only be given on the command line/, configFile('resume.json', { resume: 'x' }));
    rejects({}, /--config .*missing\.json: file not found/, join(dir, 'missing.json'));
  });

  it('names the settings of a bad combination', () => {
    rejects({}, /^--dataset is required/);
    rejects({ dataset: 'mnist', batchSize: '30', samplesPerClass: '4' }, /^--batch-size 30 is not a multiple of --samples-per-class 4$/);
    rejects({ dataset: 'mnist', batchSize: '4', samplesPerClass: '4' }, /^--batch-size 4 holds fewer than 2 classes/);
    rejects({ dataset: 'mnist', imageSize: '32' }, /^--test-resize \(default\) 28 is smaller than --image-size 32$/);
    rejects({ dataset: 'cub200' }, /^--data-root is required for cub200$/);
    rejects({ dataset: 'cub200', dataRoot: join(dir, 'nowhere') }, /^--data-root: folder not found/);
    rejects({ dataset: 'mnist', dataRoot: dir }, /^--data-root: mnist is embedded/);
    rejects({ dataset: 'mnist', pretrained: join(dir, 'none.safetensors') }, /^--pretrained: file not found/);
    rejects({ samplesPerClass: '3' }, /"batchSize" in .*combo\.json 8 is not a multiple of --samples-per-class 3/, configFile('combo.json', { dataset: 'mnist', batchSize: 8 }));
  });

  it('--sync-bn: off by default, on with yes, a bad value named, and config.json files from before it load', () => {
    assert.equal(resolveConfig({ flags: { dataset: 'mnist' } }).syncBn, false);
    assert.equal(resolveConfig({ flags: { dataset: 'mnist', syncBn: 'yes' } }).syncBn, true);
    assert.equal(resolveConfig({ flags: { dataset: 'mnist', syncBn: 'no' } }).syncBn, false);
    rejects({ dataset: 'mnist', syncBn: 'sometimes' }, /^--sync-bn: expected yes or no, got 'sometimes'$/);
    const { syncBn: _syncBn, ...older } = resolveConfig({ flags: { dataset: 'mnist', out: join(dir, 'older') } });
    assert.equal(configSchema.parse(older).syncBn, false);
  });

  it('the memory format follows the precision unless given: channels-last for bf16 on a CPU, contiguous for fp32', () => {
    const resolved = (flags: FlagValues, file?: string) => resolveConfig({ flags: { dataset: 'mnist', ...flags }, configFile: file });
    assert.equal(resolved({}).memoryFormat, 'contiguous');
    assert.equal(resolved({ precision: 'bf16' }).memoryFormat, 'channels-last');
    assert.equal(resolved({ precision: 'bf16', memoryFormat: 'contiguous' }).memoryFormat, 'contiguous');
    assert.equal(resolved({ precision: 'fp32', memoryFormat: 'channels-last' }).memoryFormat, 'channels-last');
    assert.equal(resolved({}, configFile('bf16.json', { precision: 'bf16' })).memoryFormat, 'channels-last');
    assert.equal(resolved({ precision: 'bf16' }, configFile('nchw.json', { memoryFormat: 'contiguous' })).memoryFormat, 'contiguous');
  });

  it('resumes with the saved settings; only some may change', () => {
    const run = join(dir, 'run');
    mkdirSync(run, { recursive: true });
    const saved = resolveConfig({ flags: { dataset: 'mnist', out: run, epochs: '2' } });
    writeFileSync(join(run, 'config.json'), JSON.stringify(saved));
    const resumed = resolveResumeConfig(run, { epochs: '5', threads: '1', lr: String(saved.lr) });
    assert.deepEqual(resumed, { ...saved, epochs: 5, threads: 1 });
    assert.throws(() => resolveResumeConfig(run, { lr: '0.5' }), /^ConfigError: lr cannot change when resuming \(the run uses 0\.001\)/);
    assert.throws(() => resolveResumeConfig(run, { out: join(dir, 'elsewhere') }), /out cannot differ from resume/);
    assert.throws(() => resolveResumeConfig(join(dir, 'nothing'), {}), /resume .*nothing: no config\.json there/);
  });
});
