// A long training run must hold a flat resident set: 10,000 steps of a small conv net with batch
// norm and Adam, checking live tensors stay constant and RSS does not grow after warm-up.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { BatchNorm2d, Conv2d, Linear, Module } from '../../src/nn/index.js';
import { Adam } from '../../src/optim/index.js';
import * as T from '../../src/torch/index.js';
import { F, liveTensors, tidy, type Tensor } from '../../src/torch/index.js';

class TinyNet extends Module {
  constructor() {
    super();
    this.registerModule('conv', new Conv2d(1, 4, 3, { padding: 1 }));
    this.registerModule('bn', new BatchNorm2d(4));
    this.registerModule('fc', new Linear(4 * 4 * 4, 8));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const h = F.maxPool2d(this.child<BatchNorm2d>('bn').forward(this.child<Conv2d>('conv').forward(x)).relu(), 2);
      return F.l2Normalize(this.child<Linear>('fc').forward(h.flatten(1)), 1);
    });
  }
}

const rssMb = () => process.memoryUsage().rss / 2 ** 20;

it('10,000 training steps keep live tensors constant and resident memory flat', () => {
  T.manualSeed(0);
  const model = new TinyNet();
  const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
  const x = T.keep(T.randn([16, 1, 8, 8]));
  const target = T.keep(F.l2Normalize(T.randn([16, 8]), 1));
  const step = () =>
    tidy(() => {
      const loss = model.forward(x).sub(target).square().sum(1).mean();
      optimizer.zeroGrad();
      loss.backward();
      optimizer.step();
      return loss.item();
    });
  const initial = step();
  for (let i = 1; i < 1000; i++) step();
  const liveAfterWarmup = liveTensors();
  const rssAfterWarmup = rssMb();
  let last = Number.NaN;
  for (let i = 0; i < 9000; i++) {
    last = step();
    if (i % 1000 === 999) assert.equal(liveTensors(), liveAfterWarmup, `live tensors at step ${1000 + i + 1}`);
  }
  const growth = rssMb() - rssAfterWarmup;
  assert.ok(last < initial / 10, `the model trains: loss ${initial} -> ${last}`);
  assert.ok(growth < 48, `resident memory grew by ${growth.toFixed(1)} MB over 9,000 steps after warm-up`);
});
