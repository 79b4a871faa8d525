// A toy embedding network and data for the attack-suite tests: two-channel 4x4 images normalized
// with a per-channel mean/std, a two-layer network with unit-length outputs, a labelled gallery.
import { CleanGallery } from '../../src/adversarial/gallery.js';
import type { EmbedFn } from '../../src/adversarial/pgd.js';
import * as T from '../../src/torch/index.js';
import { F, noGrad, type Tensor } from '../../src/torch/index.js';

export const MEAN = [0.5, 0.4];
export const STD = [0.25, 0.5];
export const CLASSES = 3;

export interface Toy {
  embed: EmbedFn;
  /** Normalized images [n, 2, 4, 4]; pixels span [0, 1] with some exactly at 0 and 1. */
  images: Tensor;
  labels: Int32Array;
  gallery: CleanGallery;
  dispose(): void;
}

/** Normalized images from pixels in [0, 1]; a quarter of the pixels sit on the range's edges. */
export function toyImages(n: number): Tensor {
  return T.tidy(() => {
    const pixels = T.rand([n, 2, 4, 4]);
    const edges = T.rand([n, 2, 4, 4]);
    const snapped = T.where(edges.lt(0.125), T.zerosLike(pixels), T.where(edges.gt(0.875), T.onesLike(pixels), pixels));
    const mean = T.tensor(MEAN, [1, 2, 1, 1]);
    const std = T.tensor(STD, [1, 2, 1, 1]);
    return snapped.sub(mean).div(std);
  });
}

/** A seeded toy: gallery = embeddings of all `n` images (labels i mod 3), so query i's copy is row i. */
export function toy(n = 30, seed = 5): Toy {
  T.manualSeed(seed);
  const w1 = T.keep(T.randn([16, 32]).mul(0.5));
  const w2 = T.keep(T.randn([8, 16]).mul(0.5));
  const embed: EmbedFn = (x) => F.l2Normalize(F.linear(F.linear(x.flatten(1), w1).tanh(), w2), 1);
  const images = T.keep(toyImages(n));
  const labels = Int32Array.from({ length: n }, (_, i) => i % CLASSES);
  const gallery = noGrad(() => T.tidy(() => new CleanGallery(embed(images), labels)));
  return {
    embed,
    images,
    labels,
    gallery,
    dispose() {
      gallery.dispose();
      T.dispose([w1, w2, images]);
    },
  };
}

export function maxAbs(t: Tensor): number {
  return T.tidy(() => t.abs().max().item());
}
