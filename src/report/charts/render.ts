// Renders Vega-Lite specs to standalone SVG strings in Node: Vega-Lite compiles to Vega, a headless
// Vega view (renderer 'none') draws the scene graph as SVG markup. No browser, no canvas, no fonts
// to load (text uses the generic sans-serif family), and no data loading from files or the network.
import { createHash } from 'node:crypto';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export type { TopLevelSpec } from 'vega-lite';

/** SVG markup produced by renderSvg; a branded string so HTML builders can tell it from raw text. */
export type SvgMarkup = string & { readonly __brand: 'SvgMarkup' };

/** Shared look of every chart: generic fonts, so the SVG needs no font files. */
export const CHART_CONFIG = {
  font: 'sans-serif',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  header: { labelFontSize: 12, titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start' },
} as const;

// Every spec here carries its data inline; a loader that refuses everything makes that a guarantee.
const refusingLoader: vega.Loader = {
  ...vega.loader(),
  sanitize: (uri: string) => Promise.reject(new Error(`charts load no external data (asked for ${uri})`)),
  load: (uri: string) => Promise.reject(new Error(`charts load no external data (asked for ${uri})`)),
};

/**
 * Makes element ids unique per chart. Vega numbers its clip paths and gradients per process, so
 * charts rendered by different processes and inlined in one page could otherwise share an id.
 */
function scopeIds(svg: string): string {
  const prefix = `c${createHash('sha1').update(svg).digest('hex').slice(0, 8)}-`;
  return svg
    .replace(/\bid="([^"]+)"/g, (_m, id: string) => `id="${prefix}${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_m, id: string) => `url(#${prefix}${id})`)
    .replace(/href="#([^"]+)"/g, (_m, id: string) => `href="#${prefix}${id}"`);
}

export interface RenderOptions {
  /** Receives Vega-Lite and Vega warnings (dropped channels, odd data); ignored by default. */
  onWarning?: (message: string) => void;
}

const text = (args: readonly unknown[]) => args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ');

/**
 * Compiles and renders a Vega-Lite spec to SVG markup (CHART_CONFIG under the spec's own config).
 * Rejects when Vega reports an error (e.g. a data URL), instead of returning an empty chart.
 */
export async function renderSvg(spec: TopLevelSpec, options: RenderOptions = {}): Promise<SvgMarkup> {
  const errors: string[] = [];
  const logger = vega.logger(vega.Warn, undefined, (method, _level, args) => {
    // Vega reports a failed data load as a warning; for a report it is an error.
    if (method === 'error' || args[0] === 'Loading failed') errors.push(text(args));
    else options.onWarning?.(text(args));
  });
  const withConfig = { ...spec, config: { ...CHART_CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec;
  const compiled = compile(withConfig, { logger }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', loader: refusingLoader, logger });
  try {
    const svg = await view.toSVG();
    if (errors.length > 0) throw new Error(`chart rendering failed: ${errors.join('; ')}`);
    if (!svg.startsWith('<svg')) throw new Error('vega did not return SVG markup');
    return scopeIds(svg) as SvgMarkup;
  } finally {
    view.finalize();
  }
}
