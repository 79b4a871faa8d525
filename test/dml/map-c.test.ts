// MAP@R (Musgrave et al.) and the MDProp authors' mAP_c side by side on a case worked by hand.
// Five unit vectors on a circle, at 0, 12, 30 degrees (class A) and 20, 100 degrees (class B);
// similarity falls with the angle between them, so each ranking can be read off the angles:
//   query  ranking of the others     R  MAP@R (window R)      C  mAP_c (window C = R + 1)
//   A@0    A12 B20 A30 B100          2  (1/1) / 2 = 1/2       3  (1/1 + 2/3) / 3 = 5/9
//   A@12   B20 A0 A30 B100           2  (1/2) / 2 = 1/4       3  (1/2 + 2/3) / 3 = 7/18
//   A@30   B20 A12 A0 B100           2  (1/2) / 2 = 1/4       3  (1/2 + 2/3) / 3 = 7/18
//   B@20   A12 A30 A0 B100           1  0                     2  0 (B100 is 4th)
//   B@100  A30 B20 A12 A0            1  0                     2  (1/2) / 2 = 1/4
// mean MAP@R = 1/5, mean mAP_c = (5/9 + 7/18 + 7/18 + 0 + 1/4) / 5 = 19/60.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retrievalMetrics } from '../../src/dml/index.js';
import { tensor, tidy } from '../../src/torch/index.js';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-6, `${a} vs ${b}`);

function circle(degrees: number[]) {
  return tensor(degrees.flatMap((d) => [Math.cos((d * Math.PI) / 180), Math.sin((d * Math.PI) / 180)]), [degrees.length, 2]);
}

describe('map_c and map@r', () => {
  it('match the hand-worked example', () => {
    tidy(() => {
      const report = retrievalMetrics({
        queries: circle([0, 12, 30, 20, 100]),
        queryLabels: tensor([0, 0, 0, 1, 1], [5], { dtype: 'int64' }),
        ks: [1],
        clustering: false,
        embeddingSpace: false,
      });
      close(report['map@r'], 1 / 5);
      close(report.map_c, 19 / 60);
    });
  });

  it('a perfect ranking scores map@r 1 but map_c R / (R + 1) per query, as the authors\' code does', () => {
    tidy(() => {
      // Classes of 3 and 2 items, each class on its own tight arc far from the other.
      const report = retrievalMetrics({
        queries: circle([0, 1, 2, 180, 181]),
        queryLabels: tensor([0, 0, 0, 1, 1], [5], { dtype: 'int64' }),
        ks: [1],
        clustering: false,
        embeddingSpace: false,
      });
      close(report['map@r'], 1);
      close(report.map_c, (3 * (2 / 3) + 2 * (1 / 2)) / 5);
    });
  });
});
