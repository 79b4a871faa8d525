// Chart specs over seeds: training curves (one line per method with a band over seeds) and
// robustness curves (Recall@1 against eps, one panel per attack). Builders return Vega-Lite specs;
// renderSvg turns any of them into SVG. Aggregation happens here, in TypeScript, so the numbers
// drawn are the numbers tested.
import type { TopLevelSpec } from './render.js';
import { distinctInOrder, groupInOrder, spreadLabel, summarizeSpread, type Spread } from '../statistics/spread.js';

export { differenceChart, scatterChart } from './charts-points.js';
export type { DifferenceRow, DifferenceChartOptions, ScatterPanel, ScatterChartOptions, ScatterPoint } from './charts-points.js';

/** One run's curve: y against x (e.g. loss per epoch) for one method and seed. */
export interface SeedSeries {
  method: string;
  seed: number | string;
  points: readonly { x: number; y: number }[];
}

export interface LineBandOptions {
  title?: string;
  /** Line under the title; by default it says what the band is (e.g. min–max over seeds). */
  subtitle?: string;
  xTitle: string;
  yTitle: string;
  /** Band around the mean over seeds; 'minmax' by default. */
  spread?: Spread;
  /** Colour order of the methods (default: order of first appearance). */
  methods?: readonly string[];
  width?: number;
  height?: number;
}

export interface BandRow {
  method: string;
  x: number;
  mean: number;
  lo: number;
  hi: number;
  n: number;
}

const key = (...parts: (string | number)[]) => JSON.stringify(parts);

/** Mean and band over seeds of every (method, x), sorted by method order then x. */
export function summarizeSeries(runs: readonly SeedSeries[], spread: Spread = 'minmax'): BandRow[] {
  const flat = runs.flatMap((r) => r.points.map((p) => ({ method: r.method, x: p.x, y: p.y })));
  const rows: BandRow[] = [];
  for (const group of groupInOrder(flat, (p) => key(p.method, p.x)).values()) {
    const s = summarizeSpread(group.map((p) => p.y), spread);
    rows.push({ method: group[0]!.method, x: group[0]!.x, ...s });
  }
  const order = distinctInOrder(runs.map((r) => r.method));
  return rows.sort((a, b) => order.indexOf(a.method) - order.indexOf(b.method) || a.x - b.x);
}

const methodColor = (methods: readonly string[], legend = true) => ({
  field: 'method',
  type: 'nominal' as const,
  title: 'method',
  scale: { domain: [...methods], scheme: 'tableau10' },
  ...(legend ? {} : { legend: null }),
});

/** (a) One line per method (mean over seeds) with a shaded band over seeds. */
export function lineBandChart(runs: readonly SeedSeries[], options: LineBandOptions): TopLevelSpec {
  const spread = options.spread ?? 'minmax';
  const values = summarizeSeries(runs, spread);
  const methods = options.methods ?? distinctInOrder(runs.map((r) => r.method));
  // Epochs and steps are whole numbers: no ticks between them.
  const whole = values.every((v) => Number.isInteger(v.x));
  const x = { field: 'x', type: 'quantitative' as const, title: options.xTitle, ...(whole ? { axis: { tickMinStep: 1, format: 'd' } } : {}) };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: options.title ?? '', subtitle: options.subtitle ?? spreadLabel(spread) },
    width: options.width ?? 420,
    height: options.height ?? 240,
    data: { values },
    layer: [
      {
        // fill, not color: the legend then comes from the lines alone and shows strokes, not pale areas
        mark: { type: 'area', opacity: 0.2 },
        encoding: { x, y: { field: 'lo', type: 'quantitative', title: options.yTitle }, y2: { field: 'hi' }, fill: methodColor(methods, false) },
      },
      {
        mark: { type: 'line', strokeWidth: 2, point: { filled: true, size: 30 } },
        // One method needs no legend to tell it from the others.
        encoding: { x, y: { field: 'mean', type: 'quantitative', title: options.yTitle }, color: methodColor(methods, methods.length > 1) },
      },
    ],
    // Merged legends would inherit the band's `legend: null`; kept apart, the lines' legend shows.
    resolve: { legend: { color: 'independent', fill: 'independent' } },
  };
}

/** Recall@1 of one trained model (method, seed) under one attack at one eps. */
export interface RobustnessResult {
  method: string;
  seed: number | string;
  attack: string;
  eps: number;
  recall1: number;
}

export interface RobustnessChartOptions {
  title?: string;
  /** Line under the title; by default it says what the error bars are. */
  subtitle?: string;
  spread?: Spread;
  methods?: readonly string[];
  /** Size of each attack's panel. */
  width?: number;
  height?: number;
  yTitle?: string;
}

/** (b) Recall@1 against eps, one panel per attack, methods overlaid with error bars over seeds. */
export function robustnessChart(results: readonly RobustnessResult[], options: RobustnessChartOptions = {}): TopLevelSpec {
  const spread = options.spread ?? 'minmax';
  const values = [...groupInOrder(results, (r) => key(r.attack, r.method, r.eps)).values()].map((g) => ({
    attack: g[0]!.attack,
    method: g[0]!.method,
    eps: g[0]!.eps,
    ...summarizeSpread(g.map((r) => r.recall1), spread),
  }));
  const methods = options.methods ?? distinctInOrder(results.map((r) => r.method));
  const attacks = distinctInOrder(results.map((r) => r.attack));
  const x = { field: 'eps', type: 'quantitative' as const, title: 'eps' };
  const yTitle = options.yTitle ?? 'Recall@1';
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: options.title ?? '', subtitle: options.subtitle ?? spreadLabel(spread, 'bars') },
    data: { values },
    facet: { column: { field: 'attack', type: 'nominal', title: null, sort: attacks } },
    spec: {
      width: options.width ?? 220,
      height: options.height ?? 200,
      layer: [
        { mark: { type: 'rule', strokeWidth: 1.5 }, encoding: { x, y: { field: 'lo', type: 'quantitative', title: yTitle }, y2: { field: 'hi' }, color: methodColor(methods) } },
        { mark: { type: 'line', strokeWidth: 2 }, encoding: { x, y: { field: 'mean', type: 'quantitative', title: yTitle }, color: methodColor(methods) } },
        { mark: { type: 'point', filled: true, size: 40 }, encoding: { x, y: { field: 'mean', type: 'quantitative', title: yTitle }, color: methodColor(methods) } },
      ],
    },
  };
}
