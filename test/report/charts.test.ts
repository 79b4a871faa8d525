// Chart specs and their SVG: the numbers aggregated over seeds, the marks drawn, escaped text,
// no external references, per-chart element ids, and refusal of external data.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { differenceChart, lineBandChart, robustnessChart, scatterChart, summarizeSeries, type RobustnessResult, type SeedSeries } from '../../src/report/charts/charts.js';
import { renderSvg, type SvgMarkup, type TopLevelSpec } from '../../src/report/charts/render.js';
import { summarizeSpread } from '../../src/report/statistics/spread.js';

const runs: SeedSeries[] = [
  { method: 'baseline', seed: 1, points: [{ x: 1, y: 1.0 }, { x: 2, y: 0.6 }] },
  { method: 'baseline', seed: 2, points: [{ x: 1, y: 0.8 }, { x: 2, y: 0.4 }] },
  { method: 'mdprop', seed: 1, points: [{ x: 2, y: 0.5 }, { x: 1, y: 1.2 }] },
];

/** Elements drawn inside the data-mark groups (not axes or legends), by Vega's SVG class names. */
function markElements(svg: string, markType: string): number {
  let count = 0;
  const group = new RegExp(`<g class="mark-${markType} role-mark[^"]*"[^>]*>(.*?)</g>`, 'gs');
  for (const m of svg.matchAll(group)) count += (m[1]!.match(/<(path|line|rect|circle)\b/g) ?? []).length;
  return count;
}

async function render(spec: TopLevelSpec): Promise<SvgMarkup> {
  const warnings: string[] = [];
  const svg = await renderSvg(spec, { onWarning: (w) => warnings.push(w) });
  assert.deepEqual(warnings, [], 'our specs compile without warnings');
  assert.ok(svg.startsWith('<svg'));
  assert.doesNotMatch(svg.replace(/xmlns(:xlink)?="[^"]*"/g, ''), /https?:|@font-face|<image/, 'the SVG references nothing outside itself');
  return svg;
}

describe('chart data', () => {
  it('summarizes each (method, x) over seeds with the chosen spread, in method order', () => {
    const rows = summarizeSeries(runs);
    assert.deepEqual(
      rows.map((r) => [r.method, r.x, +r.mean.toFixed(10), r.lo, r.hi, r.n]),
      [['baseline', 1, 0.9, 0.8, 1.0, 2], ['baseline', 2, 0.5, 0.4, 0.6, 2], ['mdprop', 1, 1.2, 1.2, 1.2, 1], ['mdprop', 2, 0.5, 0.5, 0.5, 1]],
    );
    const std = summarizeSpread([1, 2, 3], 'std');
    assert.deepEqual([std.mean, std.lo, std.hi], [2, 1, 3]);
    const ci = summarizeSpread([1, 2, 3], 'ci95'); // half width 4.302653 * 1 / sqrt(3) = 2.484138
    assert.ok(Math.abs(ci.hi - 2 - 2.484138) < 1e-6);
  });

  it('puts one robustness point per (attack, method, eps) with its spread', () => {
    const results: RobustnessResult[] = [0.5, 0.7].flatMap((r, seed) => [
      { method: 'baseline', seed, attack: 'stax', eps: 0.01, recall1: r },
      { method: 'baseline', seed, attack: 'mtax', eps: 0.01, recall1: r - 0.1 },
    ]);
    const spec = robustnessChart(results);
    const values = (spec as { data: { values: Record<string, unknown>[] } }).data.values;
    assert.equal(values.length, 2);
    assert.deepEqual(values.map((v) => [v.attack, v.lo, v.hi]), [['stax', 0.5, 0.7], ['mtax', 0.4, 0.6]]);
    assert.ok(Math.abs((values[0]!.mean as number) - 0.6) < 1e-12);
  });
});

describe('rendered charts', () => {
  it('draws a band and a line per method', async () => {
    const svg = await render(lineBandChart(runs, { xTitle: 'epoch', yTitle: 'loss', spread: 'std' }));
    assert.equal(markElements(svg, 'area'), 2);
    assert.equal(markElements(svg, 'line'), 2);
    assert.match(svg, />epoch</);
  });

  it('draws one robustness panel per attack with points, lines and error bars', async () => {
    const results: RobustnessResult[] = [];
    for (const attack of ['stax', 'mtax', 'untargeted'])
      for (const method of ['baseline', 'mdprop'])
        for (const seed of [0, 1]) for (const eps of [0, 0.01, 0.02]) results.push({ attack, method, seed, eps, recall1: 0.8 - eps * (seed + 5) });
    const svg = await render(robustnessChart(results, { spread: 'minmax' }));
    assert.equal(markElements(svg, 'symbol'), 3 * 2 * 3, 'one point per attack, method and eps');
    assert.equal(markElements(svg, 'line'), 3 * 2, 'one line per panel and method');
    assert.equal(markElements(svg, 'rule'), 3 * 2 * 3, 'one error bar per point');
    for (const attack of ['stax', 'mtax', 'untargeted']) assert.match(svg, new RegExp(`>${attack}<`));
  });

  it('draws every point of every panel of a scatter, and escapes names', async () => {
    const panel = (method: string, n: number) => ({ method, points: Array.from({ length: n }, (_, i) => ({ x: i, y: i % 7, label: i % 3 })) });
    const svg = await render(scatterChart([panel('base<line> & "co"', 40), panel('mdprop', 25)]));
    assert.equal(markElements(svg, 'symbol'), 65);
    assert.match(svg, /base&lt;line&gt; &amp;/);
    assert.doesNotMatch(svg, /<line>/);
  });

  it('colours differences by whether their interval excludes zero and draws the zero line', async () => {
    const rows = [
      { label: 'clean R@1', estimate: 0.02, lo: 0.01, hi: 0.03 },
      { label: 'stax', estimate: -0.02, lo: -0.03, hi: -0.01 },
      { label: 'mtax', estimate: 0.01, lo: -0.01, hi: 0.03 },
    ];
    const spec = differenceChart(rows);
    const verdicts = (spec as { data: { values: { verdict: string }[] } }).data.values.map((v) => v.verdict);
    assert.deepEqual(verdicts, ['better', 'worse', 'CI includes 0']);
    const lowerBetter = differenceChart(rows, { higherIsBetter: false }) as { data: { values: { verdict: string }[] } };
    assert.deepEqual(lowerBetter.data.values.map((v) => v.verdict), ['worse', 'better', 'CI includes 0']);
    const svg = await render(spec);
    assert.equal(markElements(svg, 'symbol'), 3);
    assert.equal(markElements(svg, 'rule'), 1 + 3, 'zero line and one interval per row');
    assert.match(svg, /stroke="#1a9850"/);
    assert.match(svg, /stroke="#d73027"/);
  });

  it('prefixes element ids per chart and keeps references consistent', async () => {
    const svg = await renderSvg({ data: { values: [{ a: 1, b: 2 }] }, mark: { type: 'point', clip: true }, encoding: { x: { field: 'a', type: 'quantitative' }, y: { field: 'b', type: 'quantitative' } } });
    const ids = [...svg.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]!);
    const refs = [...svg.matchAll(/url\(#([^)]+)\)/g)].map((m) => m[1]!);
    assert.ok(ids.length > 0 && refs.length > 0);
    for (const id of ids) assert.match(id, /^c[0-9a-f]{8}-/);
    for (const ref of refs) assert.ok(ids.includes(ref), `reference ${ref} has its element`);
  });

  it('refuses charts that would load data from outside', async () => {
    await assert.rejects(renderSvg({ data: { url: 'http://example.invalid/data.json' }, mark: 'point' }), /no external data/);
  });
});
