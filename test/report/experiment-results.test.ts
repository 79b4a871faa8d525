// The numbers and words of the report pages from hand-built inputs: the results table's cells and
// marks, the difference chart's rows, the summary that names only intervals excluding zero, the
// training curves and robustness points, and the reading of a summary's model selection.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RunDirectory, type Difference, type ExperimentFile, type MetricsLine } from '../../src/formats/index.js';
import { differenceRows, orderMetrics, resultsTable, robustnessPoints, summaryParagraphs, summarySelection, trainingCurves, type Cell } from '../../src/report/index.js';

const stat = (values: number[]) => ({ mean: values.reduce((a, b) => a + b, 0) / values.length, std: values.length > 1 ? 0.01 : null, values });
const diff = (metric: string, mean: number, ci95: [number, number] | null, where: Partial<Difference> = {}): Difference => ({
  method: 'mdprop',
  baseline: 'baseline',
  metric,
  ...where,
  mean,
  ci95,
  values: [mean, mean, mean],
  significant: ci95 !== null && (ci95[0] > 0 || ci95[1] < 0),
});

function experiment(differences: Difference[], seeds = [0, 1, 2]): ExperimentFile {
  const method = (name: string, r1: number[]) => ({
    name,
    runs: seeds.map((s) => `${name}/seed-${s}`),
    clean: { 'recall@1': stat(r1), pi_ratio: stat(r1.map((v) => v * 10)) },
    robust: [{ attack: 'stax' as const, eps: 0.1, iters: 5, 'recall@1': stat(r1.map((v) => v / 2)) }],
  });
  return {
    format: 'mdprop.experiment/1',
    preset: null,
    dataset: 'mnist',
    methods: [method('baseline', [0.6, 0.62, 0.61].slice(0, seeds.length)), method('mdprop', [0.64, 0.65, 0.66].slice(0, seeds.length))],
    differences,
    seeds,
    train: {},
    evaluation: { attacks: ['stax'], eps: [0.1], iters: 5, limit: null, queries: 40, gallery: 40 },
    model_selection: 'final',
    wall_seconds: 1,
    finished_at: '2026-01-01T00:00:00.000Z',
  };
}

const clearGain = diff('recall@1', 0.04, [0.02, 0.06]);
const unclearStax = diff('recall@1', 0.01, [-0.03, 0.05], { attack: 'stax', eps: 0.1, iters: 5 });
const clearPi = diff('pi_ratio', 0.4, [0.1, 0.7]);

describe('experiment results', () => {
  it('table: mean ± std per method; differences marked only where the interval excludes zero', () => {
    const table = resultsTable(experiment([clearGain, unclearStax, clearPi]));
    assert.equal(table.kind, 'table');
    if (table.kind !== 'table') return;
    assert.deepEqual(table.columns, ['metric', 'baseline', 'mdprop', 'mdprop − baseline']);
    const row = (label: string) => table.rows.find((r) => r[0] === label)!;
    assert.equal(row('clean Recall@1')[1], '61.00 ± 1.00');
    assert.deepEqual(row('clean Recall@1')[3], { text: '+4.00 [+2.00, +6.00]', mark: 'better', title: '95% interval excludes 0' });
    const stax = row('stax ε=0.1 Recall@1')[3] as Exclude<Cell, string | number | null>;
    assert.equal(stax.mark, undefined, 'the stax interval includes zero');
    // π-ratio has no better direction: excluded zero is bold, not green.
    assert.equal((row('clean π-ratio')[3] as { mark?: string }).mark, 'bold');
  });

  it('one seed: the difference is shown muted, with no interval and no verdict', () => {
    const table = resultsTable(experiment([diff('recall@1', 0.04, null)], [0]));
    if (table.kind !== 'table') return assert.fail('not a table');
    assert.deepEqual(table.rows[0]![3], { text: '+4.00', mark: 'muted', title: 'one seed: no interval' });
    const words = summaryParagraphs(experiment([diff('recall@1', 0.04, null)], [0])).join(' ');
    assert.match(words, /With one seed there are no intervals/);
    assert.doesNotMatch(words, /higher|lower/);
  });

  it('difference chart: Recall@1 rows with an interval, in points', () => {
    assert.deepEqual(
      differenceRows(experiment([clearGain, unclearStax, clearPi])).map((r) => [r.label, r.estimate, r.lo, r.hi].map((v) => (typeof v === 'number' ? Number(v.toFixed(6)) : v))),
      [
        ['clean', 4, 2, 6],
        ['stax ε=0.1', 1, -3, 5],
      ],
    );
  });

  it('summary: names the differences whose interval excludes zero, with their direction, and counts the rest', () => {
    const words = summaryParagraphs(experiment([clearGain, unclearStax, diff('recall@2', -0.05, [-0.08, -0.02])])).join('\n');
    assert.match(words, /mdprop shows higher clean Recall@1 \(\+4\.00 points, 95% interval \+2\.00 to \+6\.00\)/);
    assert.match(words, /lower clean Recall@2 \(-5\.00 points, 95% interval -8\.00 to -2\.00\)/);
    assert.match(words, /For the other 1 of the 3 comparisons the interval includes zero/);
    assert.doesNotMatch(words, /stax/, 'an interval including zero is not described');
    assert.doesNotMatch(words, /optimistic/, 'final-epoch models');
    const none = summaryParagraphs({ ...experiment([unclearStax]), model_selection: 'best-test' }).join('\n');
    assert.match(none, /The one difference between mdprop and baseline has a 95% interval that includes zero/);
    assert.match(none, /optimistic: chosen on the test set/);
  });
});

describe('report data', () => {
  it('orders metrics: Recall@K by K, then the known metrics, then the rest', () => {
    assert.deepEqual(orderMetrics(['zeta', 'nmi', 'recall@10', 'map@r', 'recall@2', 'pi_ratio']), ['recall@2', 'recall@10', 'map@r', 'nmi', 'pi_ratio', 'zeta']);
  });

  it('training curves: loss per epoch, Recall@1 per evaluation, a repeated epoch keeps its last line', () => {
    const epoch = (e: number, loss: number): MetricsLine => ({ kind: 'epoch', epoch: e, loss, seconds: 1, lr: 1e-3, steps: 1, samples_per_branch: [8] });
    const evalLine = (e: number, r1: number): MetricsLine => ({ kind: 'eval', epoch: e, seconds: 1, metrics: { 'recall@1': r1 } });
    const curves = trainingCurves([epoch(1, 0.9), evalLine(1, 0.3), epoch(2, 0.8), epoch(2, 0.7), evalLine(2, 0.5)], 'mdprop', 3);
    assert.deepEqual(curves.loss.points, [{ x: 1, y: 0.9 }, { x: 2, y: 0.7 }]);
    assert.deepEqual(curves.recall.points, [{ x: 1, y: 0.3 }, { x: 2, y: 0.5 }]);
  });

  it('robustness points: clean Recall@1 at eps 0 once per panel, unless measured there; iteration counts split panels', () => {
    const pts = robustnessPoints('m', [0, 1], [
      { attack: 'stax', eps: 0.1, iters: 1, values: [0.4, 0.5] },
      { attack: 'stax', eps: 0.1, iters: 5, values: [0.2, 0.3] },
      { attack: 'mtax', eps: 0, iters: 1, values: [0.7, 0.7] },
    ], [0.8, 0.9]);
    const at0 = (panel: string) => pts.filter((p) => p.attack === panel && p.eps === 0).map((p) => p.recall1);
    assert.deepEqual(at0('stax (1 iter.)'), [0.8, 0.9]);
    assert.deepEqual(at0('stax (5 iter.)'), [0.8, 0.9]);
    assert.deepEqual(at0('mtax'), [0.7, 0.7], 'measured at eps 0: no clean point added');
  });

  it('model selection: absent means best-test (not recorded); a recorded one is read with its epoch', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mdprop-selection-'));
    try {
      const run = new RunDirectory(dir);
      writeFileSync(run.file('summary'), JSON.stringify({ best_epoch: 3, final_epoch: 5 }));
      assert.deepEqual(summarySelection(run), { selection: 'best-test', recorded: false, epoch: 3 });
      writeFileSync(run.file('summary'), JSON.stringify({ best_epoch: 3, final_epoch: 5, model_selection: 'final' }));
      assert.deepEqual(summarySelection(run), { selection: 'final', recorded: true, epoch: 5 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
