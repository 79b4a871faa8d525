// A tiny experiment end to end through the command (2 methods x 2 seeds, one short epoch, a few
// attacked queries): experiment.json carries the fields of its contract and its statistics agree
// with a recomputation from the runs' eval.json; a second run trains nothing; bad flags exit 2.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { experimentSchema, RunDirectory, type ExperimentFile } from '../../src/formats/index.js';
import { findChromium, inspectPage, isBlankScreenshot } from '../helpers/browser.js';
import { runMdprop } from '../helpers/cli.js';
import { assertMatchesSchema } from '../helpers/json-schema.js';
import { tempDir } from '../train/helpers.js';

const out = join(tempDir('experiment'), 'tiny');
const args = ['experiment', '--dataset', 'fashion-mnist', '--methods', 'baseline,mdprop', '--seeds', '0,1', '--epochs', '1', '--limit-train', '256', '--limit-test', '200',
  '--eval-batch-size', '100', '--attacks', 'stax', '--eps', '0.1,0.3', '--iters', '2', '--limit', '24', '--threads', '1', '--out', out];
let first: { code: number; stdout: string; stderr: string };
const skip = findChromium() ? false : "chromium is not installed (scripts/setup.sh installs Debian's chromium)";

before(async () => {
  first = await runMdprop(args);
});

const tStd = (xs: number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
};

describe('mdprop experiment', () => {
  it('trains every method with every seed, evaluates alike and writes experiment.json with its statistics', () => {
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /mdprop - baseline/);
    const raw = JSON.parse(readFileSync(join(out, 'experiment.json'), 'utf8')) as unknown;
    assertMatchesSchema('experiment', raw);
    const file = experimentSchema.parse(raw) as ExperimentFile;
    assert.deepEqual(file.methods.map((m) => [m.name, m.runs]), [['baseline', ['baseline/seed-0', 'baseline/seed-1']], ['mdprop', ['mdprop/seed-0', 'mdprop/seed-1']]]);
    assert.equal(file.model_selection, 'final');
    for (const m of file.methods) {
      const evals = m.runs.map((r) => new RunDirectory(join(out, r)).readEval());
      // Per-seed values are the runs' own numbers; mean and std are recomputed here independently.
      const r1 = evals.map((e) => e.clean['recall@1']!);
      assert.deepEqual(m.clean['recall@1']!.values, r1);
      assert.ok(Math.abs(m.clean['recall@1']!.mean - (r1[0]! + r1[1]!) / 2) < 1e-12);
      assert.ok(Math.abs(m.clean['recall@1']!.std! - tStd(r1)) < 1e-12);
      assert.deepEqual(m.robust.map((r) => [r.attack, r.eps, r.iters]), [['stax', 0.1, 2], ['stax', 0.3, 2]]);
      for (const e of evals) assert.equal(e.settings.queries, 24);
    }
    const d = file.differences.find((x) => x.metric === 'recall@1' && x.attack === 'stax' && x.eps === 0.3)!;
    const base = file.methods[0]!.robust[1]!['recall@1'].values;
    const md = file.methods[1]!.robust[1]!['recall@1'].values;
    const diffs = [md[0]! - base[0]!, md[1]! - base[1]!];
    assert.deepEqual(d.values, diffs);
    // Two seeds: t(0.975, 1) = 12.706, so the interval is mean +- 12.706 * sd / sqrt(2).
    const half = (12.7062047 * tStd(diffs)) / Math.SQRT2;
    assert.ok(Math.abs(d.ci95![0] - (d.mean - half)) < 1e-4 && Math.abs(d.ci95![1] - (d.mean + half)) < 1e-4, JSON.stringify(d));
    assert.equal(d.bootstrap95?.length, 2);
    for (const b of d.bootstrap95!) assert.ok(b.ci95[0] <= b.ci95[1]);
  });

  it('leaves a report in the experiment and in every run that reads in a real browser', { skip }, async () => {
    for (const file of [join(out, 'report.html'), join(out, 'mdprop/seed-1/report.html')]) {
      const page = await inspectPage(file);
      assert.deepEqual([page.consoleErrors, page.pageErrors, page.blockedRequests], [[], [], []], file);
      assert.ok(page.charts.length >= 3, `${file}: ${page.charts.length} charts`);
      for (const c of page.charts) assert.ok(c.marks > 0, `${file}: chart ${c.index} has no marks`);
      assert.ok(page.images.length >= 12, `${file}: ${page.images.length} images`);
      for (const img of page.images) assert.ok(img.naturalWidth > 0, `${file}: image "${img.alt}" did not load`);
      assert.equal(await isBlankScreenshot(page.screenshot), false, `${file}: blank screenshot`);
    }
  });

  it('runs again without training or evaluating anything', async () => {
    const model = join(out, 'mdprop/seed-1/model.safetensors');
    const evalFile = join(out, 'mdprop/seed-1/eval.json');
    const before = [statSync(model).mtimeMs, statSync(evalFile).mtimeMs];
    const again = await runMdprop(args);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual([statSync(model).mtimeMs, statSync(evalFile).mtimeMs], before);
    assert.equal(again.stdout, first.stdout);
  });

  it('names the flag at fault', async () => {
    const cases: [string[], RegExp][] = [
      [['--preset', 'huge'], /--preset: unknown preset 'huge'/],
      [['--methods', 'baseline,magic'], /--methods: unknown method 'magic'/],
      [['--seeds', '0,x'], /--seeds: expected an integer >= 0/],
      [['--attacks', 'stax,bogus'], /--attacks: unknown attack 'bogus'/],
      [['--batch-size', '7'], /--batch-size 7 is not a multiple of --samples-per-class \(default\) 2/],
    ];
    for (const [flags, message] of cases) {
      const r = await runMdprop(['experiment', '--dataset', 'fashion-mnist', '--out', join(out, 'never'), ...flags]);
      assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });
});
