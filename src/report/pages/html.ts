// One self-contained HTML report page: inline CSS, inline SVG charts, PNG images as data: URIs.
// It loads nothing (a Content-Security-Policy forbids every fetch except data: images), so it can
// be mailed or archived as one file. All text is escaped; markup enters only as branded fragments.
import { escapeHtml, pngDataUri, type HtmlFragment } from './markup.js';
import { GALLERY_CSS } from './gallery.js';
import type { SvgMarkup } from '../charts/render.js';
import { cellHtml, type Cell } from './table.js';

export type { Cell, CellMark } from './table.js';
export { differenceCell, formatInterval } from './table.js';
export { escapeHtml, pngDataUri, trustedHtml, type HtmlFragment } from './markup.js';

export type SettingValue = string | number | boolean | null;

export type Block =
  | { kind: 'paragraph'; text: string }
  | { kind: 'heading'; text: string }
  /** Name-value rows; `columns` > 1 splits a long list into tables side by side. */
  | { kind: 'settings'; caption?: string; settings: Readonly<Record<string, SettingValue>>; columns?: number }
  | { kind: 'table'; caption?: string; columns: readonly string[]; rows: readonly (readonly Cell[])[]; note?: string }
  | { kind: 'chart'; svg: SvgMarkup; caption?: string }
  /** Several charts side by side (wrapping on narrow pages) under one caption. */
  | { kind: 'charts'; svgs: readonly SvgMarkup[]; caption?: string }
  | { kind: 'image'; png: Uint8Array; alt: string; caption?: string; width?: number }
  | { kind: 'html'; html: HtmlFragment };

export interface Section {
  title: string;
  blocks: readonly Block[];
}

export interface ReportPage {
  title: string;
  /** A line under the title, e.g. the dataset and the date. */
  subtitle?: string;
  sections: readonly Section[];
}

const figure = (inner: string, caption?: string) =>
  `<figure>${inner}${caption ? `<figcaption>${escapeHtml(caption)}</figcaption>` : ''}</figure>`;

function blockHtml(block: Block): string {
  switch (block.kind) {
    case 'paragraph':
      return `<p>${escapeHtml(block.text)}</p>`;
    case 'heading':
      return `<h3>${escapeHtml(block.text)}</h3>`;
    case 'settings': {
      const rows = Object.entries(block.settings).map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th><td>${escapeHtml(v === null ? '–' : String(v))}</td></tr>`);
      const caption = block.caption ? `<caption>${escapeHtml(block.caption)}</caption>` : '';
      const columns = Math.max(1, Math.min(block.columns ?? 1, rows.length));
      if (columns === 1) return `<table class="settings">${caption}<tbody>${rows.join('')}</tbody></table>`;
      const per = Math.ceil(rows.length / columns);
      const tables = Array.from({ length: columns }, (_, c) => `<table class="settings">${c === 0 ? caption : '<caption>&nbsp;</caption>'}<tbody>${rows.slice(c * per, (c + 1) * per).join('')}</tbody></table>`);
      return `<div class="settings-row">${tables.join('')}</div>`;
    }
    case 'table': {
      const head = `<thead><tr>${block.columns.map((c) => `<th scope="col">${escapeHtml(c)}</th>`).join('')}</tr></thead>`;
      const body = block.rows.map((r) => `<tr>${r.map((c, i) => cellHtml(c, i === 0 ? 'th' : 'td')).join('')}</tr>`).join('');
      const note = block.note ? `<p class="note">${escapeHtml(block.note)}</p>` : '';
      return `<table class="results">${block.caption ? `<caption>${escapeHtml(block.caption)}</caption>` : ''}${head}<tbody>${body}</tbody></table>${note}`;
    }
    case 'chart':
      if (!block.svg.startsWith('<svg')) throw new Error('report chart: expected SVG markup from renderSvg');
      return figure(`<div class="chart">${block.svg}</div>`, block.caption);
    case 'charts':
      if (block.svgs.some((svg) => !svg.startsWith('<svg'))) throw new Error('report chart: expected SVG markup from renderSvg');
      return figure(`<div class="chart-row">${block.svgs.map((svg) => `<div class="chart">${svg}</div>`).join('')}</div>`, block.caption);
    case 'image': {
      const width = block.width === undefined ? '' : ` width="${Math.round(block.width)}"`;
      return figure(`<img src="${pngDataUri(block.png)}" alt="${escapeHtml(block.alt)}"${width}>`, block.caption);
    }
    case 'html':
      return block.html;
  }
}

/** Lower-case ASCII id for a heading, made unique on the page. */
function slugger(): (title: string) => string {
  const used = new Set<string>();
  return (title) => {
    const base = title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'section';
    let id = base;
    for (let k = 2; used.has(id); k++) id = `${base}-${k}`;
    used.add(id);
    return id;
  };
}

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#222;line-height:1.45}
h1{margin-bottom:.2rem}.subtitle{color:#666;margin-top:0}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2.2rem}
nav ul{padding-left:1.2rem}table{border-collapse:collapse;margin:1rem 0;font-size:.92rem}
th,td{border:1px solid #ddd;padding:.3rem .6rem;text-align:right;font-variant-numeric:tabular-nums}
th[scope=row],thead th{text-align:left;background:#f6f6f6}caption{text-align:left;font-weight:600;padding:.3rem 0}
table.settings td{text-align:left;font-family:ui-monospace,monospace;overflow-wrap:anywhere}table.settings caption{white-space:nowrap}
.settings-row{display:flex;flex-wrap:wrap;gap:0 1.5rem;align-items:flex-start}h3{margin:1.6rem 0 .4rem;font-size:1.05rem}
td.better{color:#1a7f37;font-weight:700}td.worse{color:#c62828;font-weight:700}td.bold{font-weight:700}td.muted{color:#888}
.note{color:#666;font-size:.85rem}figure{margin:1rem 0}figcaption{color:#555;font-size:.88rem}
.chart svg{max-width:100%;height:auto}.chart-row{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start}img{image-rendering:pixelated}
${GALLERY_CSS}`;

/** The whole page as one HTML string. */
export function renderReportPage(page: ReportPage): string {
  const slug = slugger();
  const ids = page.sections.map((s) => slug(s.title));
  const toc = page.sections.length > 1 ? `<nav><ul>${page.sections.map((s, i) => `<li><a href="#${ids[i]}">${escapeHtml(s.title)}</a></li>`).join('')}</ul></nav>` : '';
  const sections = page.sections.map((s, i) => `<section id="${ids[i]}"><h2>${escapeHtml(s.title)}</h2>\n${s.blocks.map(blockHtml).join('\n')}</section>`);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(page.title)}</title><style>${CSS}</style></head>
<body><header><h1>${escapeHtml(page.title)}</h1>${page.subtitle ? `<p class="subtitle">${escapeHtml(page.subtitle)}</p>` : ''}</header>
${toc}
${sections.join('\n')}
</body></html>
`;
}
