// `mdprop eval` end to end on a tiny folder dataset (4 classes of 12x12 noise images; the last two
// classes are the test split) with a random resnet-small: the JSON contract, eval.json, eps 0
// against the clean numbers, --limit, --weights without a run, --branch, and bad flags.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { RunDirectory } from '../../src/formats/index.js';
import { convertToMultiBatchNorm, createModel } from '../../src/nn/index.js';
import { writeRunModelFile as writeRunModel } from '../../src/formats/index.js';
import { resolveConfig } from '../../src/train/index.js';
import * as T from '../../src/torch/index.js';
import { runMdprop, spawnMdprop } from '../helpers/cli.js';
import { assertMatchesSchema } from '../helpers/json-schema.js';
import { writeNoisePng } from './embed-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'mdprop-eval-'));
const data = join(root, 'data');
const run = join(root, 'run');
const CLASSES = ['a', 'b', 'c', 'd'];
const PER_CLASS = 6;

interface Contract {
  clean: Record<string, number>;
  attacks: Record<string, number | string>[];
}

before(async () => {
  for (const [k, name] of CLASSES.entries()) {
    for (let i = 0; i < PER_CLASS; i++) await writeNoisePng(join(data, name, `${i}.png`), 12, 12, 100 * k + i);
  }
  // The files `mdprop train` leaves, written by the same writers: config.json and a 3-branch model.
  const config = resolveConfig({ given: { dataset: 'folder', dataRoot: data, method: 'mdprop', arch: 'resnet-small', embedDim: 8, channels: 1, imageSize: 12, testResize: 12, seed: 3, out: run } });
  mkdirSync(run, { recursive: true });
  new RunDirectory(run).writeConfig(config);
  T.manualSeed(1);
  const model = convertToMultiBatchNorm(createModel({ arch: 'resnet-small', embedDim: 8, inChannels: 1 }), 3);
  writeRunModel(join(run, 'model.safetensors'), model, config, 1, {});
  // Weights from elsewhere with what a trained model records, but no run directory around them.
  mkdirSync(join(root, 'weights'), { recursive: true });
  writeRunModel(join(root, 'weights', 'model.safetensors'), model, { ...config, method: 'baseline' }, 1, {});
  model.dispose();
});

const base = ['--attacks', 'stax,untargeted,fgsm,qa+', '--eps', '0,0.3', '--iters', '2', '--batch-size', '5'];

describe('mdprop eval', () => {
  it('prints the contract JSON, writes eval.json, and eps 0 reproduces the clean numbers', () => {
    const r = spawnMdprop(['eval', '--run', run, ...base, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Contract;
    assertMatchesSchema('eval-output', out);
    // qa+ is one of the ERS attacks, so the score comes along.
    assert.deepEqual(Object.keys(out), ['clean', 'attacks', 'ers']);
    assert.deepEqual(Object.keys(out.clean), ['recall@1', 'recall@2', 'recall@4', 'recall@8', 'map@r', 'map_c', 'nmi']);
    assert.deepEqual(
      out.attacks.map((a) => [a.attack, a.eps, a.iters]),
      [['stax', 0, 2], ['stax', 0.3, 2], ['untargeted', 0, 2], ['untargeted', 0.3, 2], ['fgsm', 0, 1], ['fgsm', 0.3, 1], ['qa+', 0, 2], ['qa+', 0.3, 2]],
    );
    for (const a of out.attacks) {
      const keys = ['attack', 'eps', 'iters', 'recall@1', 'map@r', ...(a.attack === 'stax' ? ['success_rate'] : [])];
      assert.deepEqual(Object.keys(a), keys);
      if (a.eps === 0) {
        assert.equal(a['recall@1'], out.clean['recall@1'], `${a.attack} eps 0 recall@1`);
        assert.equal(a['map@r'], out.clean['map@r'], `${a.attack} eps 0 map@r`);
      }
    }
    const file = JSON.parse(readFileSync(join(run, 'eval.json'), 'utf8')) as Contract & { details: unknown[]; settings: Record<string, unknown>; ers: unknown[] };
    assertMatchesSchema('eval-file', file);
    assert.deepEqual(file.clean, out.clean);
    assert.deepEqual(file.attacks, out.attacks);
    assert.equal(file.details.length, out.attacks.length);
    assert.equal(file.settings.queries, 2 * PER_CLASS);
    assert.equal(file.settings.gallery, 2 * PER_CLASS);
    assert.equal(file.settings.seed, 3);
  });

  it('--limit keeps the whole gallery and the same queries for clean and attacked runs', () => {
    const out = join(root, 'limited.json');
    const r = spawnMdprop(['eval', '--run', run, '--attacks', 'untargeted', '--eps', '0', '--limit', '5', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const printed = JSON.parse(r.stdout) as Contract;
    assert.equal(printed.attacks[0]!['recall@1'], printed.clean['recall@1']);
    const file = JSON.parse(readFileSync(out, 'utf8')) as { settings: Record<string, unknown> };
    assert.equal(file.settings.queries, 5);
    assert.equal(file.settings.gallery, 2 * PER_CLASS);
  });

  it('--precision bf16 attacks through the bfloat16 layers (channels-last by default) and records both in eval.json', () => {
    const files = { fp32: join(root, 'fp32.json'), bf16: join(root, 'bf16.json') };
    const results: Record<string, Contract> = {};
    for (const precision of ['fp32', 'bf16'] as const) {
      const r = spawnMdprop(['eval', '--run', run, '--precision', precision, '--attacks', 'untargeted', '--eps', '0,0.3', '--iters', '2', '--out', files[precision], '--json']);
      assert.equal(r.code, 0, r.stderr);
      results[precision] = JSON.parse(r.stdout) as Contract;
    }
    const settings = (p: keyof typeof files) => (JSON.parse(readFileSync(files[p], 'utf8')) as { settings: Record<string, unknown> }).settings;
    assert.deepEqual([settings('bf16').precision, settings('bf16').memory_format], ['bf16', 'channels-last']);
    assert.deepEqual([settings('fp32').precision, settings('fp32').memory_format], ['fp32', 'contiguous']);
    const [fp32, bf16] = [results.fp32!, results.bf16!];
    assert.equal(bf16.attacks[0]!['recall@1'], bf16.clean['recall@1'], 'eps 0 reproduces the clean numbers in bf16 too');
    // One query in twelve may change its nearest neighbour with bfloat16 rounding; no more on this set.
    assert.ok(Math.abs(bf16.clean['recall@1']! - fp32.clean['recall@1']!) <= 1 / 12 + 1e-9, `clean recall@1 fp32 ${fp32.clean['recall@1']} vs bf16 ${bf16.clean['recall@1']}`);
  });

  it('evaluates given weights without a run (settings from their metadata, eval.json beside them) and a BN branch of the same epoch', () => {
    const r = spawnMdprop(['eval', '--weights', join(root, 'weights', 'model.safetensors'), '--data-root', data, '--attacks', 'es', '--eps', '4/255', '--iters', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^attack\s+eps/);
    assert.match(r.stdout, /es\s+4\/255/);
    const beside = JSON.parse(readFileSync(join(root, 'weights', 'eval.json'), 'utf8')) as { settings: Record<string, unknown> };
    assert.deepEqual([beside.settings.dataset, beside.settings.image_size, beside.settings.embed_dim], ['folder', 12, 8]);
    const branch = join(root, 'branch.json');
    const b = spawnMdprop(['eval', '--run', run, '--branch', '2', '--attacks', 'mtax', '--eps', '0.1', '--iters', '1', '--out', branch, '--json']);
    assert.equal(b.code, 0, b.stderr);
    const file = JSON.parse(readFileSync(branch, 'utf8')) as { settings: Record<string, unknown> };
    assert.equal(file.settings.branch, 2);
    assert.equal(file.settings.branches, 3);
  });

  it('rejects bad flags with exit code 2, naming the flag', async () => {
    const r = await runMdprop(['eval', '--run', run, '--attacks', 'stax,bogus']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--attacks: unknown attack 'bogus'/);
  });

  it('names the flag at fault before any work (each a UsageError)', async () => {
    const cases: [string[], RegExp][] = [
      [['--eps', '0.1,abc'], /--eps: 'abc' is not a budget/],
      [['--eps', '0.1,'], /--eps: expected a comma-separated list/],
      [['--iters', '0'], /--iters: expected a positive integer/],
      [['--norm', 'l1'], /--norm: expected linf or l2/],
      [['--norm', 'l2', '--eps', '4/255'], /--norm: l2 takes budgets in normalized units/],
      [['--limit', '-3'], /--limit: expected a positive integer/],
      [['--branch', 'x'], /--branch: expected an integer >= 0/],
      [['--branch', '5'], /--run: .*branch 5 was asked for; the file holds 3 branches/],
      [['--random-start', 'sometimes'], /--random-start: expected 'eps', 'none' or a number/],
      [['--k', '1,0'], /--k: expected a positive integer/],
      [['--dataset', 'imagenet'], /--dataset: unknown dataset 'imagenet'/],
      [['--dataset', 'mnist', '--data-root', data], /--data-root: mnist is embedded/],
      [['--arch', 'vgg'], /--arch: unknown architecture 'vgg'/],
      [['--device', 'tpu'], /--device: /],
      [['--weights', join(root, 'missing.safetensors')], /--weights: .*missing.safetensors: model file not found/],
    ];
    for (const [flags, message] of cases) {
      assert.match(await evalError(['--run', run, ...flags]), message, flags.join(' '));
    }
    assert.match(await evalError(['--run', join(root, 'nowhere')]), /--run: .*nowhere: not a run directory/);
    assert.match(await evalError([]), /--run: give a run directory/);
    assert.match(await evalError(['--weights', join(run, 'model.safetensors')]), /--data-root: required for folder/);
  });
});

/** Runs `eval` in this process; it must stop with a usage error (exit 2 and a `mdprop:` message, not a commander error), whose text it returns. */
async function evalError(args: readonly string[]): Promise<string> {
  const r = await runMdprop(['eval', ...args]);
  assert.equal(r.code, 2, `eval ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
  assert.match(r.stderr, /^mdprop: /, `eval ${args.join(' ')}`);
  return r.stderr;
}
