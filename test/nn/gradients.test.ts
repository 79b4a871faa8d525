// Autograd through the layers against central finite differences, in float64, for every
// parameter element of a small conv -> bn -> linear model (BN in training mode).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchNorm2d, Conv2d, Flatten, Linear, Sequential } from '../../src/nn/index.js';
import { manualSeed, noGrad, tensor, tidy, type Tensor } from '../../src/torch/index.js';
import { numbers } from '../helpers/gradcheck.js';

describe('layer gradients', () => {
  it('match finite differences for every parameter of conv + bn + linear', () => {
    manualSeed(3);
    const model = new Sequential(
      new Conv2d(2, 3, 3, { padding: 1, stride: 2 }),
      new BatchNorm2d(3),
      new Flatten(),
      new Linear(12, 2),
    ).to('float64');
    const x = tensor(numbers(2 * 2 * 4 * 4 * 2, 11), [4, 2, 4, 4], { dtype: 'float64' });
    const w = tensor(numbers(8, 12), [4, 2], { dtype: 'float64' });
    // A weighted sum: with a plain sum the BN shift would cancel and the conv gradients vanish.
    const loss = (): Tensor => model.forward(x).square().mul(w).sum();
    const eps = 1e-6;
    try {
      const analytic = tidy(() => {
        model.zeroGrad();
        loss().backward();
        return model.namedParameters().map(([name, p]) => ({ name, grad: p.grad!.toNumbers() }));
      });
      const params = model.parameters();
      let checked = 0;
      params.forEach((p, i) => {
        const flat = noGrad(() => p.view([-1]));
        for (let j = 0; j < p.numel; j++) {
          const at = (delta: number): number =>
            tidy(() => noGrad(() => {
              flat.narrow(0, j, 1).add_(delta);
              const value = loss().item();
              flat.narrow(0, j, 1).sub_(delta);
              return value;
            }));
          const numeric = (at(eps) - at(-eps)) / (2 * eps);
          const got = analytic[i]!.grad[j]!;
          assert.ok(Math.abs(got - numeric) <= 1e-6 + 1e-5 * Math.abs(numeric), `${analytic[i]!.name}[${j}]: autograd ${got}, finite difference ${numeric}`);
          checked++;
        }
        flat.dispose();
      });
      assert.equal(checked, 3 * 2 * 9 + 3 + 3 + 3 + 2 * 12 + 2);
    } finally {
      model.dispose();
      x.dispose();
      w.dispose();
    }
  });
});
