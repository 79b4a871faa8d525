// The cache of large CPU buffers: a freed buffer of a size asked for again is handed back (no new
// mapping), what it keeps never exceeds twice the most ever in use at once, and it can be turned off.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import * as T from '../../src/torch/index.js';
import { cpuCache } from '../../src/torch/index.js';

const MB = 2 ** 20;
// The cache is built for libtorch up to 2.2 (native/cpu_allocator.cc); later ones keep their own allocator.
const [major, minor] = T.torchVersion.split('.').map(Number) as [number, number];
const built = major < 2 || (major === 2 && minor < 3);

describe('CPU buffer cache', { skip: built ? false : `libtorch ${T.torchVersion} keeps its own CPU allocator` }, () => {
  it('serves a repeated large allocation from the cache, with the right contents', () => {
    const before = cpuCache.stats();
    assert.ok(before, 'the cache is on by default');
    const first = T.full([4, 1024, 1024], 3); // 16 MiB: large enough for the cache
    first.dispose();
    const afterFree = cpuCache.stats()!;
    assert.ok(afterFree.cachedBytes >= 16 * MB, `the freed buffer is kept (${afterFree.cachedBytes} bytes cached)`);
    const again = T.zeros([4, 1024, 1024]);
    const afterReuse = cpuCache.stats()!;
    assert.equal(afterReuse.hits, afterFree.hits + 1, 'the same size is a hit');
    assert.equal(afterReuse.misses, afterFree.misses, 'and maps nothing new');
    assert.deepEqual([again.sum().item(), again.max().item()], [0, 0], 'a reused buffer carries none of its old values into zeros()');
    again.dispose();
  });

  it('small tensors do not go through it', () => {
    const before = cpuCache.stats()!;
    for (let i = 0; i < 20; i++) T.ones([256, 256]).dispose(); // 256 KiB each
    const after = cpuCache.stats()!;
    assert.equal(after.hits + after.misses, before.hits + before.misses);
  });

  it('keeps no more than twice the peak in use, and release() unmaps what it keeps', () => {
    const sizes = [9, 10, 11, 12, 13, 14, 15, 16, 17, 18];
    for (const mb of sizes) T.empty([mb * MB / 4]).dispose(); // one at a time: each is a new size
    const s = cpuCache.stats()!;
    assert.ok(s.cachedBytes <= 2 * s.peakInUseBytes, `${s.cachedBytes} cached, peak in use ${s.peakInUseBytes}`);
    assert.ok(s.cachedBytes < (9 + 10 + 11 + 12 + 13 + 14 + 15 + 16 + 17 + 18) * MB, 'the bound unmapped some');
    cpuCache.release();
    const released = cpuCache.stats()!;
    assert.equal(released.cachedBytes, 0);
    assert.equal(released.mappedBytes, s.mappedBytes - s.cachedBytes, 'buffers in use stay mapped');
  });

  it('a large convolution and its backward agree with the cache on and off', () => {
    const script = `
      import * as T from ${JSON.stringify(new URL('../../src/torch/index.js', import.meta.url).href)};
      T.manualSeed(1);
      const x = T.randn([8, 32, 96, 96]).setRequiresGrad();
      const w = T.randn([32, 32, 3, 3]).setRequiresGrad();
      let total = 0;
      for (let i = 0; i < 3; i++) {
        const y = T.F.conv2d(x, w, null, { padding: 1 });
        y.square().sum().backward();
        total += y.sum().item() + x.grad.abs().sum().item();
        x.grad.zero_(); w.grad.zero_();
      }
      console.log(JSON.stringify({ total, cache: T.cpuCache.stats() }));
    `;
    const run = (setting: string) => {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, MDPROP_CPU_CACHE: setting } });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout.trim()) as { total: number; cache: { hits: number } | null };
    };
    const on = run('1');
    const off = run('0');
    assert.equal(off.cache, null, 'MDPROP_CPU_CACHE=0 turns it off');
    assert.ok(on.cache!.hits > 0, 'repeated steps reuse buffers');
    assert.equal(on.total, off.total, 'the same numbers either way');
  });
});
