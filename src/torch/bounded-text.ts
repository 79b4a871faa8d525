// Names and keys from files mdprop did not write, quoted for an error message: escaped (control
// characters, quotes, lone surrogates), at most a few hundred characters, so a hostile 100 MB key
// makes a one-line error, not a 100 MB one.

/** Characters of one name an error message quotes. */
export const QUOTE_CHARS = 200;

/** `text` as a JSON string literal, cut to `max` characters with the length of the rest named. */
export function quote(text: string, max = QUOTE_CHARS): string {
  if (text.length <= max) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, max))}... (${text.length - max} more characters)`;
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
