// `mdprop serve` as a child process: SIGTERM while a request is being received lets that request
// finish, refuses new connections, and the process exits 0.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
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
  const child = spawn(process.execPath, [CLI_MAIN, 'serve', '--index', fixture.index, '--port', '0'], {
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
    // A request in flight at SIGTERM: its headers and half its body are sent before the signal, the rest after.
    const port = Number(new URL(url).port);
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/search?k=2', headers: { 'content-type': 'image/png', 'content-length': png.length } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.write(png.subarray(0, 100));
      setTimeout(() => {
        child.kill('SIGTERM');
        setTimeout(() => req.end(png.subarray(100)), 500);
      }, 300);
    });
    const res = await answer;
    assert.equal(res.status, 200, res.body);
    assert.equal((JSON.parse(res.body) as { neighbours: { id: number }[] }).neighbours[0]!.id, 1);
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /SIGTERM: finishing the requests in flight/);
    await assert.rejects(fetch(`${url}/healthz`), 'nothing listens any more');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

