// One eps vocabulary: training takes its attack budget as evaluation does, a number in
// normalised-input units or a share of the pixel range such as 4/255, and both turn it into the
// same amount of input (one per channel for a pixel budget), written out here by hand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBudget, pgdOptionsFor } from '../../src/adversarial/index.js';
import { GREY_STD, IMAGENET_STD } from '../../src/data/index.js';
import { ConfigError, flagOf, methodOf, resolveConfig } from '../../src/train/index.js';

const config = (flags: Record<string, string>) => resolveConfig({ flags: { dataset: 'fashion-mnist', method: 'mdprop', out: 'unused', ...flags } });

describe('training budgets', () => {
  it('a number is in normalised-input units, as before', () => {
    for (const eps of ['0.01', '0.3']) {
      const method = methodOf(config({ eps }));
      assert.deepEqual(method.distributions.map((d) => d.eps), [Number(eps), Number(eps)]);
    }
  });

  it('a pixel fraction becomes pixels over each channel std, the amount evaluation attacks with', () => {
    const grey = methodOf(config({ eps: '4/255' }));
    assert.ok(Math.abs((grey.distributions[0]!.eps as number) - 4 / 255 / GREY_STD[0]!) < 1e-15);
    const rgb = methodOf(config({ eps: '4/255', channels: '3' }));
    assert.deepEqual(rgb.distributions[1]!.eps, IMAGENET_STD.map((s) => 4 / 255 / s));
    // Evaluation's PGD options for the same budget and channels.
    const range = { kind: 'batch' } as const;
    const evaluated = pgdOptionsFor({ attack: 'stax', budget: parseBudget('4/255'), iters: 1 }, { norm: 'linf', randomStart: 'eps', range, std: IMAGENET_STD });
    assert.deepEqual(rgb.distributions[0]!.eps, evaluated.eps);
    // Not a unit change in disguise: no pixel budget is left in normalised units.
    assert.notEqual(grey.distributions[0]!.eps, 4 / 255);
  });

  it('the defenses step in the same vocabulary, and bad text names the flag', () => {
    const act = methodOf(config({ method: 'act', eps: '8/255', attackStep: '2/255', normalization: 'none' }));
    assert.deepEqual([act.defense!.eps, act.defense!.step], [8 / 255, 2 / 255]);
    assert.throws(
      () => config({ eps: '4/0' }),
      (err: unknown) => err instanceof ConfigError && /^--eps: expected a number >= 0 or a pixel fraction such as '4\/255', got '4\/0'$/.test(err.render(flagOf)),
    );
  });
});
