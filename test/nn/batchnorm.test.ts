// BatchNorm2d: batch statistics and running-statistic updates in training, running statistics in eval.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchNorm2d } from '../../src/nn/index.js';
import { tensor, tidy } from '../../src/torch/index.js';
import { assertClose, numbers } from '../helpers/gradcheck.js';

// x: [N=2, C=2, H=1, W=2]; channel 0 holds 1, 2, 3, 4 and channel 1 holds 10, 10, 20, 20.
const xs = [1, 2, 10, 10, 3, 4, 20, 20];

describe('BatchNorm2d', () => {
  it('training: normalises with batch statistics and folds them into the running ones', () => {
    const bn = new BatchNorm2d(2);
    try {
      tidy(() => {
        const y = bn.train().forward(tensor(xs, [2, 2, 1, 2])).toNumbers();
        // channel 0: mean 2.5, biased var 1.25
        const z = (v: number, mean: number, varB: number): number => (v - mean) / Math.sqrt(varB + 1e-5);
        assertClose([y[0]!, y[1]!, y[4]!, y[5]!], [1, 2, 3, 4].map((v) => z(v, 2.5, 1.25)), 1e-5, 'channel 0');
        assertClose([y[2]!, y[3]!, y[6]!, y[7]!], [10, 10, 20, 20].map((v) => z(v, 15, 25)), 1e-5, 'channel 1');
        // running = 0.9 * old + 0.1 * batch (unbiased variance: 5/3 and 100/3)
        assertClose(bn.runningMean!.toNumbers(), [0.25, 1.5], 1e-6, 'running mean');
        assertClose(bn.runningVar!.toNumbers(), [0.9 + 0.1 * (5 / 3), 0.9 + 0.1 * (100 / 3)], 1e-5, 'running var');
        assert.equal(bn.numBatchesTracked!.item(), 1);
      });
    } finally {
      bn.dispose();
    }
  });

  it('eval: normalises with the running statistics and leaves them alone', () => {
    const bn = new BatchNorm2d(2);
    try {
      tidy(() => {
        bn.runningMean!.copy_(tensor([1, -2]));
        bn.runningVar!.copy_(tensor([4, 0.25]));
        bn.weight!.detach().copy_(tensor([2, 1]));
        bn.bias!.detach().copy_(tensor([0.5, 0]));
        const y = bn.eval().forward(tensor(xs, [2, 2, 1, 2])).toNumbers();
        const expected = xs.map((v, i) => {
          const c = Math.floor(i / 2) % 2;
          return c === 0 ? (2 * (v - 1)) / Math.sqrt(4 + 1e-5) + 0.5 : (v + 2) / Math.sqrt(0.25 + 1e-5);
        });
        assertClose(y, expected, 1e-4);
        assert.deepEqual(bn.runningMean!.toNumbers(), [1, -2]);
        assert.equal(bn.numBatchesTracked!.item(), 0);
      });
    } finally {
      bn.dispose();
    }
  });

  it('the same input gives different outputs in train and eval mode', () => {
    const bn = new BatchNorm2d(3);
    try {
      tidy(() => {
        const x = tensor(numbers(48, 3, 0, 5), [4, 3, 2, 2]);
        const train = bn.train().forward(x);
        const evalOut = bn.eval().forward(x);
        assert.ok(train.sub(evalOut).abs().max().item() > 0.1);
        // Train-mode output has zero mean per channel.
        assertClose(train.mean([0, 2, 3]).toNumbers(), [0, 0, 0], 1e-5);
      });
    } finally {
      bn.dispose();
    }
  });

  it('names the expected input shape when given another', () => {
    const bn = new BatchNorm2d(3);
    try {
      assert.throws(() => tidy(() => bn.forward(tensor([1, 2, 3, 4], [1, 4, 1, 1]))), /expected input \[N, 3, H, W\], got \[1, 4, 1, 1\]/);
    } finally {
      bn.dispose();
    }
  });
});
