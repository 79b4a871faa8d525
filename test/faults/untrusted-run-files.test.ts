// Run and experiment folders as a crash or another writer may leave them. A metrics.jsonl whose
// last line was cut short by a crash during an append (once: `mdprop report` failed for the run
// and for every experiment holding it) is read up to its last complete line with a warning, and
// `train --resume` cuts it back to its checkpoint; experiment.json run paths that lead outside the
// experiment folder (`..`, absolute, or a link out) are refused by name instead of followed.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { RunDirectory } from '../../src/formats/index.js';
import { train } from '../../src/train/index.js';
import { runMdprop } from '../helpers/cli.js';
import { tempDir } from '../train/helpers.js';

const root = tempDir('faults-run-files');
const exp = join(root, 'experiment');
const run = join(exp, 'baseline', 'seed-0');
const outsideRun = join(root, 'elsewhere');
const CUT = '{"kind":"epoch","epoch":2,"lo';

function experimentJson(runs: string[]): string {
  return JSON.stringify({
    format: 'mdprop.experiment/1',
    preset: null,
    dataset: 'mnist',
    methods: [{ name: 'baseline', runs, clean: {}, robust: [] }],
    differences: [],
    seeds: runs.map((_, i) => i),
    train: {},
    evaluation: { attacks: ['stax'], eps: [0.1], iters: 1, limit: null, queries: 0, gallery: 0 },
    model_selection: 'final',
    wall_seconds: 1,
    finished_at: new Date(0).toISOString(),
  });
}

before(async () => {
  const tiny = { dataset: 'mnist', method: 'baseline', embedDim: 8, epochs: 1, batchSize: 8, limitTrain: 16, limitTest: 20, evalBatchSize: 20, threads: 1, seed: 3 } as const;
  await train({ ...tiny, out: run });
  await train({ ...tiny, out: outsideRun });
  appendFileSync(join(run, 'metrics.jsonl'), CUT);
});

describe('untrusted run and experiment files', () => {
  it('a metrics.jsonl cut mid-line is read up to its last complete line, with a warning, by the run and experiment reports', async () => {
    const lines = readFileSync(join(run, 'metrics.jsonl'), 'utf8').split('\n');
    const warnings: string[] = [];
    assert.equal(new RunDirectory(run).readMetrics((w) => warnings.push(w)).length, lines.length - 1);
    assert.deepEqual(warnings, [`${join(run, 'metrics.jsonl')}: the last line (${lines.length}) ends mid-line, as a crash during an append leaves it; read up to line ${lines.length - 1}`]);
    const report = await runMdprop(['report', run]);
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stderr, /^mdprop: warning: .*metrics\.jsonl: the last line \(\d+\) ends mid-line/m);
    assert.match(readFileSync(join(run, 'report.html'), 'utf8'), /ends mid-line, as a crash during an append leaves it/);
    writeFileSync(join(exp, 'experiment.json'), experimentJson(['baseline/seed-0']));
    const expReport = await runMdprop(['report', exp]);
    assert.equal(expReport.code, 0, expReport.stderr);
    assert.match(expReport.stderr, /warning: .*seed-0\/metrics\.jsonl: the last line/);
  });

  it('experiment.json run paths outside the experiment folder are refused, not followed', async () => {
    const cases: [string[], RegExp][] = [
      [['../elsewhere'], /"methods\[0\]\.runs\[0\]": a path inside the experiment folder \(relative, with no "\.\." step\)/],
      [[outsideRun], /"methods\[0\]\.runs\[0\]": a path inside the experiment folder/],
      [['baseline/../../elsewhere'], /"methods\[0\]\.runs\[0\]": a path inside the experiment folder/],
      [['baseline/seed-0', 'link'], /"methods\[0\]\.runs\[1\]": "link" leads outside the experiment folder/],
    ];
    symlinkSync(outsideRun, join(exp, 'link'));
    for (const [runs, expected] of cases) {
      writeFileSync(join(exp, 'experiment.json'), experimentJson(runs));
      const r = await runMdprop(['report', exp]);
      assert.notEqual(r.code, 0, runs.join(', '));
      assert.match(r.stderr, expected, runs.join(', '));
      assert.ok(r.stderr.includes(join(exp, 'experiment.json')), r.stderr);
    }
    // A link that stays inside the folder is followed.
    mkdirSync(join(exp, 'links'));
    symlinkSync(run, join(exp, 'links', 'seed-0'));
    writeFileSync(join(exp, 'experiment.json'), experimentJson(['links/seed-0']));
    assert.equal((await runMdprop(['report', exp])).code, 0);
  });

  it('train --resume cuts the cut line back to the checkpoint and continues', async () => {
    const r = await runMdprop(['train', '--resume', run, '--epochs', '2']);
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(join(run, 'metrics.jsonl'), 'utf8');
    assert.ok(text.endsWith('\n'));
    for (const line of text.trimEnd().split('\n')) JSON.parse(line); // every line whole
    const warnings: string[] = [];
    const epochs = new RunDirectory(run).readMetrics((w) => warnings.push(w)).filter((l) => l.kind === 'epoch').map((l) => l.epoch);
    assert.deepEqual(epochs, [1, 2]);
    assert.deepEqual(warnings, []);
  });
});
