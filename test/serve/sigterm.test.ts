// `mdprop serve` as a child process: SIGTERM while a request waits for its batch lets that request
// finish, refuses new connections, and the process exits 0.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, it } from 'node:test';
import { CLI_MAIN } from '../helpers/cli.js';
import { buildServeFixture, type ServeFixture } from './fixture.js';

let fixture: ServeFixture;
before(async () => {
  fixture = await buildServeFixture('serve-sigterm', 3);
});

it('drains on SIGTERM: the request in flight completes, then exit 0', async () => {
  // A long batching wait keeps the request in flight when the signal comes.
  const child = spawn(process.execPath, [CLI_MAIN, 'serve', '--index', fixture.index, '--port', '0', '--max-batch', '8', '--max-wait-ms', '1500'], {
    env: { ...process.env, MDPROP_QUIET: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const match = /at (http:\/\/127\.0\.0\.1:\d+)\//.exec(stderr);
        if (match) resolve(match[1]!);
      });
      child.on('exit', () => reject(new Error(`serve exited before listening: ${stderr}`)));
    });
    const png = readFileSync(join(fixture.images, fixture.paths[1]!));
    const started = Date.now();
    const inFlight = fetch(`${url}/v1/search?k=2`, { method: 'POST', body: new Uint8Array(png), headers: { 'content-type': 'image/png' } });
    await new Promise((r) => setTimeout(r, 400));
    child.kill('SIGTERM');
    const res = await inFlight;
    assert.equal(res.status, 200);
    const body = (await res.json()) as { neighbours: { id: number }[] };
    assert.equal(body.neighbours[0]!.id, 1);
    assert.ok(Date.now() - started >= 1000, 'the answer came after the batching wait, so the request was in flight at SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /SIGTERM: finishing the requests in flight/);
    await assert.rejects(fetch(`${url}/healthz`), 'nothing listens any more');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

