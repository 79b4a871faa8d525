// The `mdprop` program itself: the registry of commands agrees with the commands, a sub-command
// loads only its own module, top-level help and unknown commands list every command, and a reader
// that closes the pipe early does not make the binary print a stack trace.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { Command, Help } from 'commander';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { processStreams } from '../../src/cli/io.js';
import { CLI_MAIN, runMdprop, spawnMdprop } from '../helpers/cli.js';

const moduleLog = fileURLToPath(new URL('../helpers/module-log.js', import.meta.url));
const srcDir = new URL('../../src/', import.meta.url).href;

/** The modules under dist/src/ that `mdprop <args>` resolves, relative to dist/src/. */
function modulesLoaded(args: readonly string[]): string[] {
  const log = join(mkdtempSync(join(tmpdir(), 'mdprop-modules-')), 'modules.txt');
  const r = spawnMdprop(args, { nodeArgs: ['--import', moduleLog], env: { MDPROP_MODULE_LOG: log } });
  assert.equal(r.code, 0, r.stderr);
  const urls = readFileSync(log, 'utf8').split('\n');
  return [...new Set(urls.filter((url) => url.startsWith(srcDir)).map((url) => url.slice(srcDir.length)))].sort();
}

describe('mdprop commands', () => {
  it('the registry gives each command its own name, summary and help term', async () => {
    assert.deepEqual(
      COMMANDS.map((c) => c.name),
      ['data', 'embed', 'export', 'eval', 'metrics', 'train', 'bench', 'compare', 'experiment', 'report', 'index', 'search', 'serve', 'weights'],
    );
    const help = new Help();
    for (const entry of COMMANDS) {
      const program = new Command();
      (await entry.load())(program, processStreams);
      assert.equal(program.commands.length, 1, entry.name);
      const command = program.commands[0]!;
      assert.equal(command.name(), entry.name);
      assert.equal(command.description(), entry.summary, `${entry.name}: summary`);
      assert.equal(help.subcommandTerm(command), entry.usage === '' ? entry.name : `${entry.name} ${entry.usage}`, `${entry.name}: term`);
    }
  });

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await runMdprop([flag]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${version}\n`);
    }
  });

  it('top-level help and an unknown command list every command with its summary', async () => {
    const help = await runMdprop(['--help']);
    assert.equal(help.code, 0);
    assert.equal(help.stderr, '');
    const unknown = await runMdprop(['trian']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^error: unknown command 'trian'\n\(Did you mean train\?\)\n/);
    for (const text of [help.stdout, unknown.stderr]) {
      const listed = text.slice(text.indexOf('Commands:')).replace(/\s+/g, ' ');
      for (const entry of COMMANDS) {
        const term = entry.usage === '' ? entry.name : `${entry.name} ${entry.usage}`;
        assert.ok(listed.includes(` ${term} ${entry.summary} `), `${entry.name} is listed as '${term}  ${entry.summary}'`);
      }
    }
  });

  it('help for one command comes from the command itself', async () => {
    const direct = await runMdprop(['compare', '--help']);
    assert.equal(direct.code, 0);
    assert.match(direct.stdout, /^Usage: mdprop compare \[options\] <runs\.\.\.>\n/);
    assert.match(direct.stdout, /--out <file>/);
    const viaHelp = await runMdprop(['help', 'compare']);
    assert.equal(viaHelp.code, 0);
    assert.equal(viaHelp.stdout, direct.stdout);
  });
});

describe('mdprop loads only what it runs', () => {
  it('top-level help loads no command module and no library code', () => {
    assert.deepEqual(modulesLoaded(['--help']), ['cli/commands/index.js', 'cli/errors.js', 'cli/io.js', 'cli/main.js', 'cli/run.js', 'formats/version.js']);
  });

  it('a sub-command loads its own module and no other command', () => {
    for (const name of ['compare', 'metrics']) {
      const commands = modulesLoaded([name, '--help']).filter((m) => m.startsWith('cli/commands/') && m !== 'cli/commands/index.js');
      assert.deepEqual(commands, [`cli/commands/${name}.js`], name);
    }
  });
});

describe('mdprop on a closed pipe', () => {
  it('stops writing quietly when the reader has gone (EPIPE)', async () => {
    const child = spawn(process.execPath, [CLI_MAIN, 'compare', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader goes away before the help is written
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });
});
