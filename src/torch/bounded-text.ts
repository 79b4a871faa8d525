// Names and keys from files mdprop did not write, quoted for an error message: escaped (control
// characters, quotes, lone surrogates), at most a few hundred characters, so a hostile 100 MB key
// makes a one-line error, not a 100 MB one.

/** Characters of one name an error message quotes. */
export const QUOTE_CHARS = 200;

/** `text` as a JSON string literal of at most `max` characters between its quotes (escapes counted), with the length of the rest named. */
export function quote(text: string, max = QUOTE_CHARS): string {
  const whole = text.length <= max ? JSON.stringify(text) : null;
  if (whole !== null && whole.length <= max + 2) return whole;
  // The longest start of the text whose escaped form fits (each character escapes to at most 6).
  let lo = Math.floor(max / 6);
  let hi = Math.min(text.length, max);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (JSON.stringify(text.slice(0, mid)).length <= max + 2) lo = mid;
    else hi = mid - 1;
  }
  return `${JSON.stringify(text.slice(0, lo))}... (${text.length - lo} more characters)`;
}

/** A name as it is when it is short, printable ASCII with no quote or comma in it; quoted and cut otherwise. */
export function plainName(name: string, max = QUOTE_CHARS): string {
  return name.length <= max && /^[\x21-\x7e]*$/.test(name) && !/["',]/.test(name) ? name : quote(name, max);
}

/** The first bytes of a byte string in hex. */
export function quoteBytes(data: Uint8Array, max = 32): string {
  const head = Buffer.from(data.buffer, data.byteOffset, Math.min(data.byteLength, max)).toString('hex');
  return `bytes of length ${data.byteLength} (${head}${data.byteLength > max ? '...' : ''})`;
}

/** The text of any thrown value, one line, bounded. */
export function boundedMessage(err: unknown, max = 500): string {
  const text = err instanceof Error ? err.message : String(err);
  const line = text.length > max ? `${text.slice(0, max)}... (${text.length - max} more characters)` : text;
  return line.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
