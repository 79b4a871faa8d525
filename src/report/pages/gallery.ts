// Retrieval gallery: one row per query, its thumbnail then its top-k neighbours, each neighbour
// framed green (same class as the query) or red (another class). Pixels become PNG data: URIs with
// sharp; small images (e.g. 28x28) are enlarged with nearest-neighbour so their pixels stay sharp.
import sharp from 'sharp';
import { escapeHtml, pngDataUri, trustedHtml, type HtmlFragment } from './markup.js';

/** An image as pixels: floats in [0, 1] (clamped) or bytes in [0, 255]. */
export interface PixelImage {
  pixels: Float32Array | Float64Array | Uint8Array | Uint8ClampedArray | readonly number[];
  width: number;
  height: number;
  /** 1 = grey, 3 = RGB. */
  channels: 1 | 3;
  /** Order of an RGB image's values: interleaved 'hwc' (default) or planes 'chw' (a tensor's layout). */
  layout?: 'hwc' | 'chw';
}

export interface ThumbnailOptions {
  /** Whole-number enlargement; by default the smallest that makes the longer side at least 96 px. */
  scale?: number;
}

/** Interleaved bytes (HWC) of an image, whatever its input type and layout. */
function toBytes(img: PixelImage): Buffer {
  const { width, height, channels } = img;
  const n = width * height * channels;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new RangeError(`image: bad size ${width}x${height}`);
  if (img.pixels.length !== n) throw new RangeError(`image: ${img.pixels.length} values for ${width}x${height}x${channels}`);
  const isBytes = img.pixels instanceof Uint8Array || img.pixels instanceof Uint8ClampedArray;
  const out = Buffer.alloc(n);
  const planes = channels === 3 && img.layout === 'chw';
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < channels; c++) {
      const v = img.pixels[planes ? c * width * height + i : i * channels + c]!;
      out[i * channels + c] = isBytes ? v : Math.round(255 * Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0)));
    }
  }
  return out;
}

/** PNG bytes of an image, enlarged by a whole factor with nearest-neighbour sampling. */
export async function imageToPng(img: PixelImage, options: ThumbnailOptions = {}): Promise<Buffer> {
  const scale = options.scale ?? Math.max(1, Math.ceil(96 / Math.max(img.width, img.height)));
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`image: scale must be a positive integer, got ${scale}`);
  return sharp(toBytes(img), { raw: { width: img.width, height: img.height, channels: img.channels } })
    .resize(img.width * scale, img.height * scale, { kernel: 'nearest' })
    .png()
    .toBuffer();
}

export async function imageDataUri(img: PixelImage, options: ThumbnailOptions = {}): Promise<string> {
  return pngDataUri(await imageToPng(img, options));
}

export interface GalleryNeighbour {
  image: PixelImage;
  /** Whether the neighbour has the query's class. */
  correct: boolean;
  label?: string | number;
  distance?: number;
}

export interface GalleryRow {
  query: PixelImage;
  label?: string | number;
  /** A last caption line under the query, e.g. which retrieval the row shows ('clean', 'stax ε=0.1'). */
  note?: string;
  neighbours: readonly GalleryNeighbour[];
}

export interface GalleryOptions extends ThumbnailOptions {
  caption?: string;
  /** Rows come in pairs (the same query twice, e.g. clean then attacked): a gap after each pair. */
  paired?: boolean;
}

export const GALLERY_CSS = `.gallery{margin:1rem 0}.gallery-row{display:flex;gap:6px;align-items:flex-start;margin-bottom:8px}
.gallery figure{margin:0;text-align:center;font-size:.75rem;color:#555}.gallery img{display:block;border:3px solid transparent}
.gallery .query img{border-color:#333}.gallery .hit img{border-color:#1a9850}.gallery .miss img{border-color:#d73027}
.gallery .sep{width:10px}.gallery.paired .gallery-row:nth-of-type(even){margin-bottom:20px}`;

const labelText = (label: string | number | undefined) => (label === undefined ? '' : String(label));

async function thumb(cls: string, img: PixelImage, alt: string, lines: string[], options: ThumbnailOptions): Promise<string> {
  const caption = lines.filter((l) => l !== '').map(escapeHtml).join('<br>');
  return `<figure class="${cls}"><img src="${await imageDataUri(img, options)}" alt="${escapeHtml(alt)}" title="${escapeHtml(alt)}">${caption ? `<figcaption>${caption}</figcaption>` : ''}</figure>`;
}

/** The gallery as an HTML fragment for a report page (styles: GALLERY_CSS, included by renderReportPage). */
export async function renderGallery(rows: readonly GalleryRow[], options: GalleryOptions = {}): Promise<HtmlFragment> {
  const htmlRows = await Promise.all(
    rows.map(async (row, r) => {
      const query = await thumb('query', row.query, `query ${r + 1}${row.label === undefined ? '' : `, class ${row.label}`}`, [row.label === undefined ? 'query' : `query · ${labelText(row.label)}`, row.note ?? ''], options);
      const neighbours = await Promise.all(
        row.neighbours.map((nb, k) => {
          const verdict = nb.correct ? 'correct' : 'wrong';
          const lines = [`${k + 1}. ${nb.correct ? '✓' : '✗'} ${labelText(nb.label)}`.trim(), nb.distance === undefined ? '' : `d=${nb.distance.toFixed(3)}`];
          return thumb(nb.correct ? 'hit' : 'miss', nb.image, `neighbour ${k + 1} of query ${r + 1}: ${verdict}`, lines, options);
        }),
      );
      return `<div class="gallery-row">${query}<div class="sep"></div>${neighbours.join('')}</div>`;
    }),
  );
  const caption = options.caption ? `<p class="note">${escapeHtml(options.caption)}</p>` : '';
  return trustedHtml(`<div class="gallery${options.paired ? ' paired' : ''}">${caption}${htmlRows.join('')}</div>`);
}
