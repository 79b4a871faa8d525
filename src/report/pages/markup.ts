// Escaping for text placed in HTML and PNG data: URIs, shared by the page and gallery builders.

/** Escapes the five characters that could end text or an attribute value in HTML. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Markup built from escaped parts (e.g. by renderGallery); a branded string so raw text cannot pass as it. */
export type HtmlFragment = string & { readonly __brand: 'HtmlFragment' };

/** Marks markup as a fragment; only for markup whose every piece of text went through escapeHtml. */
export function trustedHtml(markup: string): HtmlFragment {
  return markup as HtmlFragment;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** A data: URI for PNG bytes (checked to be a PNG, so a wrong buffer fails here, not in the browser). */
export function pngDataUri(png: Uint8Array): string {
  if (png.length < 8 || PNG_SIGNATURE.some((b, i) => png[i] !== b)) throw new Error('pngDataUri: the bytes are not a PNG image');
  return `data:image/png;base64,${Buffer.from(png.buffer, png.byteOffset, png.byteLength).toString('base64')}`;
}
