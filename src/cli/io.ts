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
