// Forward work counted from layer shapes: a hand-worked convolution and linear layer, and
// ResNet-18 at 224x224 against its published 1.81 G multiply-adds (He et al., Table 1).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Conv2d, createModel, forwardFlops, Linear, Sequential, Flatten } from '../../src/nn/index.js';

describe('forwardFlops', () => {
  it('counts 2 operations per multiply-add of convolutions and linear layers', () => {
    // conv 3->4, 3x3, padding 1 on 5x5: 4*5*5 outputs x 3*3*3 products; then linear 100 -> 2: 2*100 products.
    const model = new Sequential(new Conv2d(3, 4, 3, { padding: 1 }), new Flatten(), new Linear(100, 2));
    assert.equal(forwardFlops(model, [1, 3, 5, 5]), 2 * (100 * 27 + 2 * 100));
    assert.equal(forwardFlops(model, [3, 3, 5, 5]), 3 * 2 * (100 * 27 + 2 * 100));
    // The layers forward as before afterwards.
    assert.equal(Object.hasOwn(model.at(0), 'forward'), false);
    model.dispose();
  });

  it('ResNet-18 at 224x224 does its published 1.81 G multiply-adds', () => {
    const model = createModel({ arch: 'resnet18', embedDim: 128, inChannels: 3 });
    const macs = forwardFlops(model, [1, 3, 224, 224]) / 2;
    assert.ok(Math.abs(macs / 1.814e9 - 1) < 0.01, `${macs} multiply-adds`);
    model.dispose();
  });
});
