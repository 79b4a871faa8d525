// `import ... from 'mdprop'` in a fresh project: `npm pack` of this checkout installed into a new
// npm project, the README's first TypeScript program that imports from 'mdprop' compiled with
// `tsc --strict` against the installed types, then run: it trains MDProp for one short epoch on the
// embedded Fashion-MNIST, evaluates it under stax and prints Recall@1.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const checkout = fileURLToPath(new URL('../../..', import.meta.url));

/** The first ```ts block of the README that imports from 'mdprop'. */
function readmeProgram(): string {
  const readme = readFileSync(join(checkout, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const program = blocks.find((b) => /from 'mdprop'/.test(b));
  if (program === undefined) throw new Error("README.md has no ```ts block that imports from 'mdprop'");
  return program;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(command, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

describe('the package', () => {
  it("installs from its npm pack tarball, and the README's program compiles with tsc --strict and runs", () => {
    const program = readmeProgram();
    assert.ok(program.split('\n').length <= 25, `the README program has ${program.split('\n').length} lines`);
    const dir = mkdtempSync(join(tmpdir(), 'mdprop-package-'));
    // dist/ is built by the test command; packing must not rebuild it under the running tests.
    run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir, '--silent'], checkout);
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball, 'npm pack made a tarball');
    const project = join(dir, 'project');
    run('mkdir', ['-p', project], dir);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'uses-mdprop', private: true, type: 'module' }));
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, outDir: 'out' }, files: ['main.ts'] }),
    );
    writeFileSync(join(project, 'main.ts'), program);
    // The addon this checkout built is copied instead of compiled again (setup.sh proves the compile).
    const addon = join(checkout, 'build/Release/mdprop.node');
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', join(dir, tarball), 'typescript@5', '@types/node@20'], project, {
      MDPROP_PREBUILT_ADDON: addon,
    });
    run(join(project, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], project);
    const out = run('node', ['out/main.js'], project, { MDPROP_QUIET: '1' });
    const numbers = [...out.matchAll(/Recall@1[^\d\n]*([\d.]+)/gi)].map((m) => Number(m[1]));
    assert.ok(numbers.length >= 2, `the program printed Recall@1 values:\n${out}`);
    for (const n of numbers) assert.ok(n >= 0 && n <= 1, `a Recall@1 of ${n}`);
  });
});
