// Fuzzing the readers of files from elsewhere: seeded mutations (fuzz-mutations.ts) of a real
// torch.save checkpoint in its zip and legacy formats (fixtures/, written by python3-torch) and of a
// safetensors model written by mdprop, each read in a child process under a memory limit
// (untrusted-harness.ts): `weights convert` for the checkpoints, loading the model for the
// safetensors files. Every case must end with success or a named error (never a bare RangeError,
// TypeError or a crash) within CASE_MS, leave no tensor alive, and grow the resident set by less
// than PEAK_MIB. MDPROP_FUZZ_SEED and MDPROP_FUZZ_CASES replay or widen the search.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writeModelFile } from '../../src/formats/index.js';
import { createModel } from '../../src/nn/index.js';
import { tempDir } from '../train/helpers.js';
import { mutateArchive, mutateLegacy, mutateSafetensors, seeded, unzipCheckpoint, type Mutant } from './fuzz-mutations.js';
import type { CaseOutcome, ChildCase } from './untrusted-child.js';
import { describeRun, runChild } from './untrusted-harness.js';

const SEED = Number(process.env.MDPROP_FUZZ_SEED ?? 23);
const CASES = Number(process.env.MDPROP_FUZZ_CASES ?? 300);
/** Cases per child process: one start of libtorch serves all of them. */
const PER_CHILD = 75;
/** No case may take longer (a hang), or grow the resident set by more. */
const CASE_MS = 10_000;
const PEAK_MIB = 256;
/** The errors a reader of files from elsewhere may throw. */
const NAMED = new Set(['FormatError', 'CheckpointError', 'SafetensorsError']);

const fixture = (name: string) => fileURLToPath(new URL(`../../../test/faults/fixtures/${name}`, import.meta.url));
const dir = tempDir('fuzz');

interface Source {
  name: string;
  action: ChildCase['action'];
  mutate: (r: () => number) => Mutant;
}

describe('fuzzing the readers of untrusted files', () => {
  let sources: Source[];
  before(() => {
    const zip = readFileSync(fixture('small.pth'));
    const { folder, records } = unzipCheckpoint(fixture('small.pth'));
    const legacy = readFileSync(fixture('small-legacy.pth'));
    const modelPath = join(dir, 'model.safetensors');
    const model = createModel({ arch: 'resnet-small', embedDim: 8 });
    writeModelFile(modelPath, model, { arch: 'resnet-small', embedDim: 8, inChannels: 3, imageSize: 32, testResize: 32, method: 'baseline', dataset: 'cifar', epoch: 1 });
    model.dispose();
    const safetensors = readFileSync(modelPath);
    sources = [
      { name: 'small.pth', action: 'convert', mutate: (r) => mutateArchive(r, zip, folder, records) },
      { name: 'small-legacy.pth', action: 'convert', mutate: (r) => mutateLegacy(r, legacy) },
      { name: 'model.safetensors', action: 'model', mutate: (r) => mutateSafetensors(r, safetensors) },
    ];
  });

  it(`${CASES} mutated files each end in success or a named error, within ${CASE_MS} ms and ${PEAK_MIB} MiB`, async () => {
    const random = seeded(SEED);
    const outcomes: (CaseOutcome & { what: string })[] = [];
    let maxRss = 0;
    for (let start = 0; start < CASES; start += PER_CHILD) {
      const cases: ChildCase[] = [];
      const what = new Map<string, string>();
      // The unmutated files first, in every child: they must read.
      const originals = start === 0 ? sources.map((s, i) => ({ s, i, m: null })) : [];
      const mutants = Array.from({ length: Math.min(PER_CHILD, CASES - start) }, (_, k) => {
        const i = (start + k) % sources.length;
        return { s: sources[i]!, i, m: sources[i]!.mutate(random) };
      });
      for (const [n, { s, m }] of [...originals, ...mutants].entries()) {
        const id = `${start + n}-${s.name}`;
        const path = join(dir, `${id}${s.name.slice(s.name.indexOf('.'))}`);
        if (m === null) writeFileSync(path, s.name === 'model.safetensors' ? readFileSync(join(dir, 'model.safetensors')) : readFileSync(fixture(s.name)));
        else writeFileSync(path, m.data);
        what.set(id, m === null ? 'unmutated' : m.what);
        cases.push({ id, action: s.action, path, out: `${path}.out.safetensors` });
      }
      const run = await runChild(cases, dir, { addressSpaceGiB: 6, heapMiB: 1024, rssMiB: 1536, timeoutMs: 120_000 });
      const context = (id: string) => `seed ${SEED}, case ${id} (${what.get(id)})`;
      assert.equal(run.outcomes.length, cases.length, `${describeRun(run, cases)}; ${context(cases[run.outcomes.length]?.id ?? '?')}`);
      assert.equal(run.code, 0, describeRun(run, cases));
      maxRss = Math.max(maxRss, run.maxRssMiB);
      for (const o of run.outcomes) {
        outcomes.push({ ...o, what: what.get(o.id)! });
        if (what.get(o.id) === 'unmutated') assert.equal(o.error, null, `${o.id}: ${o.error?.message}`);
        if (o.error) assert.ok(NAMED.has(o.error.name), `${context(o.id)}: ${o.error.name}: ${o.error.message}`);
        if (o.error) assert.ok(o.error.length < 2000, `${context(o.id)}: an error of ${o.error.length} characters`);
        assert.ok(o.ms < CASE_MS, `${context(o.id)}: took ${o.ms} ms`);
        assert.ok(o.peakMiB < PEAK_MIB, `${context(o.id)}: the resident set grew by ${o.peakMiB} MiB`);
        assert.equal(o.leaked, 0, `${context(o.id)}: ${o.leaked} tensors left alive`);
      }
      for (const c of cases) rmSync(c.path, { force: true }), rmSync(c.out!, { force: true });
    }
    if (process.env.MDPROP_SHOW_FUZZ) {
      // The kinds of refusal, with paths and numbers taken out.
      const kinds = new Map<string, number>();
      for (const o of outcomes) {
        const key = o.error ? `${o.error.name}: ${o.error.message.replace(/^\S+: /, '').replace(/\d+/g, 'N').slice(0, 110)}` : 'read';
        kinds.set(key, (kinds.get(key) ?? 0) + 1);
      }
      console.log([...kinds].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${String(n).padStart(4)} ${k}`).join('\n'));
    }
    const worst = outcomes.reduce((a, b) => (b.peakMiB > a.peakMiB ? b : a));
    const slowest = outcomes.reduce((a, b) => (b.ms > a.ms ? b : a));
    const read = outcomes.filter((o) => o.error === null).length;
    console.log(
      `fuzz: seed ${SEED}, ${outcomes.length} cases (${read} read, ${outcomes.length - read} refused by name); ` +
        `worst peak growth ${worst.peakMiB} MiB (${worst.id}: ${worst.what}); slowest ${slowest.ms} ms (${slowest.id}: ${slowest.what}); ` +
        `largest child resident set ${maxRss} MiB`,
    );
  });
});
