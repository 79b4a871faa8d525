// Gradients against central finite differences, in float64.
import assert from 'node:assert/strict';
import { grad, noGrad, tensor, tidy, type Tensor } from '../../src/torch/index.js';

/**
 * Compares d loss / d input from autograd with (f(x + h e_i) - f(x - h e_i)) / 2h for every
 * coordinate of `input` (a float64 leaf, changed in place and restored).
 */
export function checkGradient(loss: () => Tensor, input: Tensor, what: string, h = 1e-6, tolerance = 1e-6): void {
  assert.equal(input.dtype, 'float64', `${what}: gradient checks need float64`);
  const analytic = tidy(() => {
    const [g] = grad(loss(), [input]);
    return g!.toNumbers();
  });
  const flat = input.numel;
  const value = (): number => noGrad(() => tidy(() => loss().item()));
  for (let i = 0; i < flat; i++) {
    const bump = (delta: number): void =>
      noGrad(() =>
        tidy(() => {
          const e = new Array<number>(flat).fill(0);
          e[i] = delta;
          input.add_(tensor(e, [...input.shape], { dtype: 'float64' }));
        }),
      );
    bump(h);
    const up = value();
    bump(-2 * h);
    const down = value();
    bump(h);
    const numeric = (up - down) / (2 * h);
    const scale = Math.max(1, Math.abs(numeric));
    assert.ok(Math.abs(analytic[i]! - numeric) <= tolerance * scale, `${what}: d/dx[${i}] autograd ${analytic[i]} vs finite difference ${numeric}`);
  }
  assert.ok(analytic.some((g) => Math.abs(g) > 1e-8), `${what}: gradient is identically zero; the check proves nothing`);
}
