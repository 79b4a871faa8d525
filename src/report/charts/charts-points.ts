// Point-based chart specs: embedding maps coloured by class (one panel per method) and paired
// differences with their confidence intervals against a zero line.
import type { TopLevelSpec } from './render.js';
import { distinctInOrder } from '../statistics/spread.js';

export interface ScatterPoint {
  x: number;
  y: number;
  label: number | string;
}

/** One panel: the 2-D map of one method's embeddings. */
export interface ScatterPanel {
  method: string;
  points: readonly ScatterPoint[];
}

export interface ScatterChartOptions {
  title?: string;
  /** Size of each panel. */
  width?: number;
  height?: number;
  /** More classes than this and the legend is left out (it would be taller than the chart). */
  maxLegendClasses?: number;
}

/** (c) Points coloured by class, one panel per method; each panel keeps its own axes. */
export function scatterChart(panels: readonly ScatterPanel[], options: ScatterChartOptions = {}): TopLevelSpec {
  const values = panels.flatMap((p) => p.points.map((q) => ({ method: p.method, x: q.x, y: q.y, label: String(q.label) })));
  const classes = distinctInOrder(values.map((v) => v.label)).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const showLegend = classes.length <= (options.maxLegendClasses ?? 20);
  const axis = { title: null, labels: false, ticks: false, grid: false };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.title ?? '',
    data: { values },
    facet: { column: { field: 'method', type: 'nominal', title: null, sort: panels.map((p) => p.method) } },
    spec: {
      width: options.width ?? 260,
      height: options.height ?? 260,
      mark: { type: 'circle', size: 14, opacity: 0.75 },
      encoding: {
        x: { field: 'x', type: 'quantitative', scale: { zero: false, nice: false, padding: 6 }, axis },
        y: { field: 'y', type: 'quantitative', scale: { zero: false, nice: false, padding: 6 }, axis },
        color: {
          field: 'label',
          type: 'nominal',
          title: 'class',
          scale: { domain: classes, scheme: classes.length <= 10 ? 'tableau10' : 'category20' },
          legend: showLegend ? { columns: classes.length > 10 ? 2 : 1 } : null,
        },
      },
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
  };
}

/** One difference with its interval, e.g. "Recall@1, stax eps=0.01": MDProp minus baseline. */
export interface DifferenceRow {
  label: string;
  estimate: number;
  lo: number;
  hi: number;
}

export interface DifferenceChartOptions {
  title?: string;
  xTitle?: string;
  /** Whether a positive difference is an improvement (colours); true by default. */
  higherIsBetter?: boolean;
  width?: number;
}

type Verdict = 'better' | 'worse' | 'CI includes 0';

function verdict(row: DifferenceRow, higherIsBetter: boolean): Verdict {
  if (row.lo <= 0 && row.hi >= 0) return 'CI includes 0';
  return row.lo > 0 === higherIsBetter ? 'better' : 'worse';
}

/** (d) Differences as points with interval bars, one row each, and a dashed line at zero. */
export function differenceChart(rows: readonly DifferenceRow[], options: DifferenceChartOptions = {}): TopLevelSpec {
  const higherIsBetter = options.higherIsBetter ?? true;
  const values = rows.map((r) => ({ ...r, verdict: verdict(r, higherIsBetter) }));
  const y = { field: 'label', type: 'nominal' as const, title: null, sort: rows.map((r) => r.label), axis: { labelLimit: 320 } };
  const x = { field: 'estimate', type: 'quantitative' as const, title: options.xTitle ?? 'difference (method − baseline)', scale: { zero: true } };
  const color = {
    field: 'verdict',
    type: 'nominal' as const,
    title: null,
    scale: { domain: ['better', 'worse', 'CI includes 0'], range: ['#1a9850', '#d73027', '#888888'] },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.title ?? '',
    width: options.width ?? 360,
    height: { step: 22 },
    data: { values },
    layer: [
      // Its own one-row data: with the rows' data the zero line would be drawn once per row.
      { data: { values: [{}] }, mark: { type: 'rule', strokeDash: [4, 3], color: '#444' }, encoding: { x: { datum: 0, type: 'quantitative' } } },
      { mark: { type: 'rule', strokeWidth: 2 }, encoding: { y, x: { field: 'lo', type: 'quantitative' }, x2: { field: 'hi' }, color } },
      { mark: { type: 'point', filled: true, size: 60 }, encoding: { y, x, color } },
    ],
  };
}
