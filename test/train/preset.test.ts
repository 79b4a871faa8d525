// --preset paper (the authors' settings), the ImageNet-weights requirement with --from-scratch as
// the way out, the authors' sampling (with replacement) and auxiliary-BN start (weights copied,
// running statistics fresh), and config.json files written before these settings existed.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ClassBalancedSampler, ClassRandomSampler, restoreSampler } from '../../src/data/index.js';
import { configSchema } from '../../src/formats/index.js';
import { resolveTrainConfig } from '../../src/index.js';
import { createModel, multiBatchNorms } from '../../src/nn/index.js';
import { buildParts, checkShards, ConfigError, disposeParts, flagOf, methodOf, resolveConfig, trainSampler } from '../../src/train/index.js';
import { tidy, writeSafetensors } from '../../src/torch/index.js';
import { spawnMdprop } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'mdprop-preset-'));
const root = join(dir, 'data');
mkdirSync(root);
const weights = join(dir, 'w.safetensors');
tidy(() => writeSafetensors(weights, createModel({ arch: 'resnet-small', embedDim: 8, inChannels: 1 }).stateDict()));

const cli = (err: unknown) => (err as ConfigError).render(flagOf);

describe('--preset paper', () => {
  it("sets the authors' settings per dataset (batch 64, SOP and In-Shop 112)", () => {
    for (const [dataset, batch] of [['cub200', 64], ['cars196', 64], ['sop', 112], ['inshop', 112]] as const) {
      const c = resolveConfig({ flags: { dataset, dataRoot: root, preset: 'paper', pretrained: weights, out: join(dir, dataset) } });
      assert.equal(c.preset, 'paper');
      assert.deepEqual(
        [c.method, c.arch, c.embedDim, c.loss, c.optimizer, c.lr, c.weightDecay, c.schedule, c.batchSize, c.samplesPerClass, c.epochs, c.eps, c.attackIters, c.mtaxTargets],
        ['mdprop', 'resnet50', 128, 'multisimilarity', 'adam', 1e-5, 4e-4, 'constant', batch, 2, 125, 0.01, 1, 5],
        dataset,
      );
      assert.equal(c.sampling, 'with-replacement');
      assert.equal(c.auxBnInit, 'copy-weights');
      assert.equal(c.bnReplicas, 3, "the authors' three GPUs under nn.DataParallel");
    }
  });

  it('--bn-replicas: 1 by default, recorded, refused beside data-parallel training, a defense or a batch smaller than it', () => {
    assert.equal(resolveConfig({ flags: { dataset: 'mnist' } }).bnReplicas, 1);
    assert.equal(resolveConfig({ flags: { dataset: 'mnist', bnReplicas: '3' } }).bnReplicas, 3);
    const { bnReplicas: _r, ...older } = resolveConfig({ flags: { dataset: 'mnist', out: join(dir, 'older-replicas') } });
    assert.equal(configSchema.parse(older).bnReplicas, 1, 'runs written before it existed had one replica');
    const refused = (config: Parameters<typeof checkShards>[0], pattern: RegExp) =>
      assert.throws(() => checkShards(config, methodOf(config)), (err: unknown) => err instanceof ConfigError && pattern.test(cli(err)));
    const base = resolveConfig({ flags: { dataset: 'mnist', bnReplicas: '3' } });
    refused({ ...base, worldSize: 2 }, /^--bn-replicas 3 splits one process's batch .* cannot be combined with data-parallel training \(2 processes\)/);
    refused({ ...base, syncBn: true }, /^--bn-replicas 3 .*--sync-bn/);
    refused({ ...base, method: 'act' }, /^--bn-replicas 3 is the MDProp authors' replicas, for methods of distributions; act is a defense/);
    refused({ ...base, batchSize: 2 }, /^--bn-replicas 3 is more than the 2 images of a batch \(--batch-size\)/);
    assert.doesNotThrow(() => checkShards(base, methodOf(base)));
  });

  it('gives way to explicit flags and config values', () => {
    const c = resolveConfig({ flags: { dataset: 'cub200', dataRoot: root, preset: 'paper', fromScratch: 'yes', epochs: '3', sampling: 'balanced', batchSize: '32' } });
    assert.deepEqual([c.epochs, c.sampling, c.batchSize, c.auxBnInit], [3, 'balanced', 32, 'copy-weights']);
    const lib = resolveTrainConfig({ dataset: 'sop', dataRoot: root, preset: 'paper', fromScratch: true, lr: 2e-5 });
    assert.deepEqual([lib.preset, lib.lr, lib.batchSize], ['paper', 2e-5, 112]);
  });

  it('needs ImageNet weights: the error names --pretrained unless --from-scratch is given', () => {
    assert.throws(
      () => resolveConfig({ flags: { dataset: 'cars196', dataRoot: root, preset: 'paper' } }),
      (err) => /^--preset paper starts from ImageNet weights: give --pretrained FILE .*\.pth.* or --from-scratch/.test(cli(err)),
    );
    // Without the preset too: the file datasets' default ResNet-50 no longer starts from random weights silently.
    assert.throws(() => resolveConfig({ flags: { dataset: 'cub200', dataRoot: root } }), (err) => /^cub200 with resnet50 starts from ImageNet weights: give --pretrained/.test(cli(err)));
    assert.throws(() => resolveTrainConfig({ dataset: 'sop', dataRoot: root, preset: 'paper' }), /give pretrained FILE/);
    assert.throws(
      () => resolveConfig({ flags: { dataset: 'cub200', dataRoot: root, pretrained: weights, fromScratch: 'yes' } }),
      (err) => /--from-scratch and --pretrained contradict each other/.test(cli(err)),
    );
    // Small networks and the embedded sets train from scratch as before.
    assert.equal(resolveConfig({ flags: { dataset: 'cub200', dataRoot: root, arch: 'resnet-small' } }).fromScratch, false);
  });

  it('is refused for datasets the paper does not cover, naming --preset', () => {
    assert.throws(() => resolveConfig({ flags: { dataset: 'fashion-mnist', preset: 'paper' } }), (err) => /^--preset paper is the authors' setup for cub200, cars196, sop, inshop; fashion-mnist has none$/.test(cli(err)));
    assert.throws(() => resolveConfig({ flags: { dataset: 'cub200', dataRoot: root, preset: 'papers' } }), (err) => /^--preset: expected one of paper, got 'papers'$/.test(cli(err)));
  });

  it('mdprop train exits 2 naming --pretrained before any work', () => {
    const r = spawnMdprop(['train', '--dataset', 'cub200', '--data-root', root, '--preset', 'paper', '--out', join(dir, 'never')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--preset paper starts from ImageNet weights: give --pretrained FILE/);
  });

  it('reads config.json files written before preset, fromScratch, sampling and auxBnInit existed', () => {
    const c = resolveConfig({ flags: { dataset: 'mnist', out: join(dir, 'old') } }) as Record<string, unknown>;
    for (const key of ['preset', 'fromScratch', 'sampling', 'auxBnInit']) delete c[key];
    const parsed = configSchema.parse(c);
    assert.deepEqual([parsed.preset, parsed.fromScratch, parsed.sampling, parsed.auxBnInit], [null, false, 'balanced', 'copy']);
  });
});

describe("the authors' sampling (with replacement)", () => {
  // 3 classes of sizes 2, 3 and 5: draws with replacement must repeat classes in a batch of 4 classes.
  const labels = Int32Array.from([0, 0, 1, 1, 1, 2, 2, 2, 2, 2]);

  it('draws floor(N / B) batches of m same-class images, classes and images with replacement, seeded', () => {
    const sampler = new ClassRandomSampler(labels, { batchSize: 8, samplesPerClass: 2, seed: 3 });
    const again = new ClassRandomSampler(labels, { batchSize: 8, samplesPerClass: 2, seed: 3 });
    let repeatedClass = false;
    let repeatedImage = false;
    for (let epoch = 0; epoch < 20; epoch++) {
      const batches = sampler.epochBatches(epoch);
      assert.equal(batches.length, 1); // floor(10 / 8)
      assert.deepEqual(batches, again.epochBatches(epoch));
      for (const batch of batches) {
        const classes: number[] = [];
        for (let g = 0; g < 4; g++) {
          assert.equal(labels[batch[2 * g]!], labels[batch[2 * g + 1]!]);
          classes.push(labels[batch[2 * g]!]!);
          if (batch[2 * g] === batch[2 * g + 1]) repeatedImage = true;
        }
        if (new Set(classes).size < classes.length) repeatedClass = true;
      }
    }
    assert.ok(repeatedClass && repeatedImage, 'with replacement, some batch repeats a class and some draw repeats an image');
    assert.notDeepEqual(sampler.epochBatches(0), new ClassRandomSampler(labels, { batchSize: 8, samplesPerClass: 2, seed: 4 }).epochBatches(0));
  });

  it('resumes at the same batch from its state, and the setting picks the sampler', () => {
    const sampler = new ClassRandomSampler(labels, { batchSize: 4, samplesPerClass: 2, seed: 1 });
    sampler.next();
    const restored = restoreSampler(labels, sampler.state());
    assert.ok(restored instanceof ClassRandomSampler);
    assert.deepEqual(restored.next().indices, sampler.next().indices);
    const common = { batchSize: 4, samplesPerClass: 2, seed: 0 };
    assert.ok(trainSampler({ ...common, sampling: 'with-replacement' }, labels) instanceof ClassRandomSampler);
    assert.ok(trainSampler({ ...common, sampling: 'balanced' }, labels) instanceof ClassBalancedSampler);
  });
});

describe('auxiliary BN start', () => {
  it("'copy-weights' copies scale and shift but starts running statistics fresh; 'copy' copies all", () => {
    // Pretrained weights whose BN statistics differ from a fresh layer's, so the two starts differ.
    const trained = join(dir, 'stats.safetensors');
    tidy(() => {
      const state = createModel({ arch: 'resnet-small', embedDim: 8, inChannels: 1 }).stateDict();
      for (const [k, t] of state) if (/running_mean|bn1\.weight/.test(k)) t.add_(0.5);
      writeSafetensors(trained, state);
    });
    for (const auxBnInit of ['copy', 'copy-weights'] as const) {
      const config = resolveConfig({ flags: { dataset: 'mnist', arch: 'resnet-small', embedDim: '8', pretrained: trained, auxBnInit, out: join(dir, auxBnInit) } });
      const parts = buildParts(config, 5);
      try {
        const bn = multiBatchNorms(parts.model)[0]!;
        assert.equal(bn.branches, 3);
        for (let k = 1; k < 3; k++) {
          tidy(() => {
            const main = bn.branch(0);
            const aux = bn.branch(k);
            assert.equal(aux.weight!.sub(main.weight!).abs().max().item(), 0, 'scale copied');
            assert.ok(main.runningMean!.sub(0.5).abs().max().item() < 1e-6, 'main branch holds the file statistics');
            const mean = aux.runningMean!.abs().max().item();
            if (auxBnInit === 'copy') assert.equal(aux.runningMean!.sub(main.runningMean!).abs().max().item(), 0);
            else assert.deepEqual([mean, aux.runningVar!.sub(1).abs().max().item()], [0, 0]);
          });
        }
      } finally {
        disposeParts(parts);
      }
    }
  });
});
