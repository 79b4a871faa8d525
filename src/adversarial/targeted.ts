// STAX and MTAX at test time: pull each query towards T random other-class gallery images at once
// (the targeted objective of pgd.ts with T target sets); a query succeeds when its nearest gallery
// image has a target's class.
import { noGrad, tidy } from '../torch/index.js';
import type { PreparedAttack, QueryBatch } from './attack.js';
import type { CleanGallery } from './gallery.js';
import { otherClassTargets } from './targets.js';

export function prepareTargeted(count: number, batch: QueryBatch, gallery: CleanGallery, seed: number): PreparedAttack {
  const b = batch.labels.length;
  const rows = otherClassTargets(gallery, batch.labels, batch.ids, count, seed);
  const targets = noGrad(() =>
    tidy(() => {
      const all = gallery.rows(rows).view([b, count, -1]);
      return Array.from({ length: count }, (_, j) => all.select(1, j).contiguous());
    }),
  );
  return {
    goal: { kind: 'targeted', targets },
    measure(attacked) {
      const nearest = gallery.nearest(attacked, batch.ownRows);
      return {
        success: Float64Array.from(nearest, (row, i) => {
          const label = gallery.labels[row];
          for (let j = 0; j < count; j++) if (gallery.labels[rows[i * count + j]!] === label) return 1;
          return 0;
        }),
      };
    },
  };
}
