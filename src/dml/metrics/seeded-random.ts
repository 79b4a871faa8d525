// A small seeded generator for the metric code (k-means++ draws), kept apart from libtorch's
// global generator so that evaluating mid-training never shifts the training run's random stream.

/** mulberry32: a 32-bit state generator, plenty for picking initial centres. Returns U[0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
