// Where the CLI's text goes: the process's own streams for the binary, buffers for tests that run
// a command in their own process.

/** Anything text can be written to: process.stdout, a file stream, or a test's collector. */
export interface TextSink {
  write(text: string): unknown;
}

export interface CliStreams {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
}

export const processStreams: CliStreams = { stdout: process.stdout, stderr: process.stderr };

// C0 controls other than tab and newline, DEL and C1 controls: what can move a terminal's cursor,
// recolour it or retitle it when a file name carrying them is printed.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** Text with terminal control characters shown as \xNN; `inLine` escapes tab and newline too (a file name in a list). */
export function printable(text: string, inLine = false): string {
  const escape = (c: string) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  const out = text.replace(CONTROL, escape);
  return inLine ? out.replace(/[\t\n]/g, escape) : out;
}
