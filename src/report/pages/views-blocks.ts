// A run's views.json drawn: its embedding map as a scatter panel and its retrieval gallery as
// rows of thumbnails (each query twice: its clean neighbours, then its neighbours under attack).
import type { ImageSettings, ViewImages } from './view-images.js';
import { openViewImages } from './view-images.js';
import type { ScatterPanel } from '../charts/charts.js';
import { renderGallery, type GalleryRow } from './gallery.js';
import type { Block } from './html.js';
import type { Neighbour, ViewsFile } from '../../formats/index.js';

export interface GalleryViewOptions {
  /** Queries shown (12 by default) and neighbours per query (8 by default). */
  queries?: number;
  neighbours?: number;
}

/** One map panel; points are labelled with class names when the images (and so the dataset) are at hand. */
export function mapPanel(views: ViewsFile, method: string, images: ViewImages | null): ScatterPanel {
  return { method, points: views.map.points.map((p) => ({ x: p.x, y: p.y, label: images ? images.className(p.label) : p.label })) };
}

/** "stax ε=0.1, 5 iterations": the attack the gallery's second rows show. */
export function attackText(gallery: ViewsFile['gallery']): string {
  return `${gallery.attack} ε=${gallery.eps}${gallery.iters > 0 ? `, ${gallery.iters} iteration${gallery.iters === 1 ? '' : 's'}` : ''}`;
}

export async function galleryBlock(views: ViewsFile, images: ViewImages, options: GalleryViewOptions = {}): Promise<Block> {
  const { queries = 12, neighbours = 8 } = options;
  const row = async (q: ViewsFile['gallery']['queries'][number], list: readonly Neighbour[], note: string): Promise<GalleryRow> => ({
    query: await images.query(q.index),
    label: images.className(q.label),
    note,
    neighbours: await Promise.all(
      list.slice(0, neighbours).map(async (n) => ({ image: await images.gallery(n.index), correct: n.correct, label: images.className(n.label) })),
    ),
  });
  const attack = attackText(views.gallery);
  const rows: GalleryRow[] = [];
  for (const q of views.gallery.queries.slice(0, queries)) rows.push(await row(q, q.clean, 'clean'), await row(q, q.attacked, 'attacked'));
  const shown = Math.min(neighbours, views.gallery.k);
  const caption =
    `Each query twice: its ${shown} nearest ${views.gallery_split} images for the clean query, then for the query attacked with ${attack}. ` +
    'Green: same class as the query; red: another class.';
  return { kind: 'html', html: await renderGallery(rows, { caption, paired: true, scale: 1 }) };
}

/**
 * The dataset's images for a views.json, or the reason they are unavailable (a dataset root that
 * is not on this machine should cost the page its pictures, not the whole report).
 */
export async function tryViewImages(settings: ImageSettings, views: ViewsFile, size?: number): Promise<ViewImages | Error> {
  try {
    return await openViewImages(settings, views, size);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** The gallery, or one line saying why its images could not be shown. */
export async function galleryOrNote(views: ViewsFile, images: ViewImages | Error, options: GalleryViewOptions = {}): Promise<Block> {
  if (images instanceof Error) return { kind: 'paragraph', text: `The retrieval gallery needs the test images, which could not be loaded: ${images.message}` };
  try {
    return await galleryBlock(views, images, options);
  } catch (err) {
    return { kind: 'paragraph', text: `The retrieval gallery could not be drawn: ${err instanceof Error ? err.message : String(err)}` };
  }
}
