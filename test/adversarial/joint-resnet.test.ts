// Joint attack passes on a real convolutional network (a small ResNet in eval mode): the (attack,
// eps) runs that share PGD passes give every query the same outcome as runs made one at a time,
// although the convolutions then see batches of another size.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { disposeRange, normalizedPixelRange, parseBudget } from '../../src/adversarial/budget.js';
import { measureRobustness, type AttackCondition, type QuerySource, type RobustnessOptions } from '../../src/adversarial/robustness.js';
import { CleanGallery } from '../../src/adversarial/gallery.js';
import { GalleryClusters } from '../../src/adversarial/robust-metrics.js';
import { createModel, freezeParameters } from '../../src/nn/index.js';
import * as T from '../../src/torch/index.js';

const N = 24;
const SIZE = 16;
T.manualSeed(11);
const model = createModel({ arch: 'resnet-small', embedDim: 16, inChannels: 1 });
model.eval();
const thaw = freezeParameters(model);
const embed = (x: T.Tensor) => model.forward(x);
const images = T.keep(T.rand([N, 1, SIZE, SIZE]).sub(0.5).div(0.25));
const labels = Int32Array.from({ length: N }, (_, i) => i % 4);
const gallery = T.noGrad(() => T.tidy(() => new CleanGallery(embed(images), labels)));
const clusters = new GalleryClusters(gallery, 1);
const range = normalizedPixelRange([0.5], [0.25]);
after(() => {
  thaw();
  disposeRange(range);
  clusters.dispose();
  gallery.dispose();
  images.dispose();
  model.dispose();
});

/** Every image is a query (its own copy in the gallery excluded), in batches of 10. */
function queries(): QuerySource {
  const pixels = images.toFloat32Array();
  const per = SIZE * SIZE;
  const all = Int32Array.from({ length: N }, (_, i) => i);
  return {
    size: N,
    labels,
    ids: all,
    ownRows: all,
    async *batches() {
      for (let start = 0; start < N; start += 10) {
        const positions = Int32Array.from({ length: Math.min(10, N - start) }, (_, i) => start + i);
        yield { images: pixels.slice(start * per, (start + positions.length) * per), shape: [positions.length, 1, SIZE, SIZE] as const, positions };
      }
    },
  };
}

const options = (conditionsPerPass?: number): RobustnessOptions => ({
  embed,
  device: 'cpu',
  gallery,
  clusters,
  queries: queries(),
  pgd: { norm: 'linf', randomStart: 'eps', range, std: [0.25] },
  suite: { mtaxTargets: 3, rankPartners: 1, topFraction: 0.1, seed: 2 },
  ks: [1, 2],
  ...(conditionsPerPass === undefined ? {} : { conditionsPerPass }),
});

describe('joint attack passes on a ResNet', () => {
  it('give the same per-query hits, metrics and success rates as one run at a time', async () => {
    const runs: AttackCondition[] = ['stax', 'mtax', 'untargeted'].flatMap((attack) =>
      ['0.1', '0.5'].map((eps) => ({ attack: attack as AttackCondition['attack'], budget: parseBudget(eps), iters: 2 })),
    );
    const alone = await measureRobustness(runs, options(1));
    const shared = await measureRobustness(runs, options(6));
    assert.ok(model.parameters().every((p) => p.grad === null), 'attacks left parameter gradients behind');
    shared.conditions.forEach((r, i) => {
      const want = alone.conditions[i]!;
      const what = `${r.condition!.attack} eps ${r.condition!.budget.text}`;
      assert.deepEqual(r.hits, want.hits, what);
      assert.equal(r.successRate, want.successRate, what);
      for (const [k, v] of Object.entries(r.metrics)) assert.ok(Math.abs(v - (want.metrics as Record<string, number>)[k]!) <= 1e-6, `${what} ${k}: ${v} vs ${(want.metrics as Record<string, number>)[k]}`);
    });
    // The strongest attacks move the embeddings well away from the clean ones (the check above is not vacuous).
    assert.ok(alone.conditions[5]!.embeddingShift > 0.05, `untargeted shift ${alone.conditions[5]!.embeddingShift}`);
  });
});
