// Matrix-product throughput of the linked libtorch (its BLAS decides it): float32 [n, n] x [n, n]
// for a few sizes and thread counts. Prints JSON. Usage: node dist/bench/matmul.js [n ...]
import * as T from '../src/torch/index.js';

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const results: { n: number; threads: number; gflops: number }[] = [];
for (const n of sizes.length ? sizes : [256, 1024, 2048]) {
  for (const threads of [1, 2]) {
    T.setNumThreads(threads);
    const a = T.randn([n, n]);
    const b = T.randn([n, n]);
    a.mm(b).dispose();
    const repeats = Math.max(3, Math.round(2e9 / (2 * n ** 3)));
    const start = process.hrtime.bigint();
    for (let i = 0; i < repeats; i++) a.mm(b).dispose();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9 / repeats;
    results.push({ n, threads, gflops: Number(((2 * n ** 3) / seconds / 1e9).toFixed(1)) });
    a.dispose();
    b.dispose();
  }
}
console.log(JSON.stringify({ torch: T.torchVersion, dtype: 'float32', results }, null, 1));
