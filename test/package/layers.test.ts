// The layers of src/, read from the source's own imports: every folder imports only from folders
// of a lower layer (none from its own layer or above, so no cycle either), report/ only reads and
// draws (nothing from train/, evaluate/ or experiment/), and only the CLI and the front door use
// experiment/. A new folder gets a line in LAYERS.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../../src', import.meta.url));

/** Bottom up: a folder may import from folders of a lower number only. */
const LAYERS: Record<string, number> = {
  data: 0,
  native: 0,
  torch: 1,
  nn: 2,
  optim: 2,
  dml: 2,
  adversarial: 3,
  methods: 4,
  formats: 5,
  parallel: 5,
  export: 6,
  evaluate: 6,
  report: 6,
  retrieval: 7,
  train: 7,
  experiment: 8,
  benchmark: 8,
  serve: 8,
  cli: 9,
  'index.ts': 10,
};

type Edge = { from: string; to: string; file: string };

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** The top folder of src/ a path lies in ('index.ts' for the front door itself). */
const folderOf = (path: string) => relative(SRC, path).split(sep)[0]!;

/** Every import, export-from and import() of a relative module that crosses from one top folder to another. */
function folderEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*)'(\.{1,2}\/[^']+)'/g)) {
      const from = folderOf(file);
      const to = folderOf(resolve(dirname(file), m[1]!));
      if (from !== to) edges.push({ from, to, file: relative(SRC, file) });
    }
  }
  return edges;
}

/** What breaks the layer rule: an import of the same layer or a higher one, or of an unknown folder. */
function violations(edges: readonly Edge[]): string[] {
  return edges.flatMap(({ from, to, file }) => {
    const [a, b] = [LAYERS[from], LAYERS[to]];
    if (a === undefined || b === undefined) return [`${file}: ${a === undefined ? from : to}/ has no layer in LAYERS`];
    return b < a ? [] : [`${file} (${from}, layer ${a}) imports ${to}/ (layer ${b})`];
  });
}

describe('the layers of src/', () => {
  const edges = folderEdges();

  it('reads the imports it checks', () => {
    const pairs = new Set(edges.map((e) => `${e.from}>${e.to}`));
    for (const pair of ['cli>train', 'train>evaluate', 'evaluate>adversarial', 'experiment>report', 'report>formats', 'torch>native']) assert.ok(pairs.has(pair), pair);
    // The rule is not empty: an upward or sideways import is caught.
    assert.equal(violations([{ from: 'report', to: 'train', file: 'report/x.ts' }]).length, 1);
    assert.equal(violations([{ from: 'report', to: 'evaluate', file: 'report/x.ts' }]).length, 1);
  });

  it('every folder imports only from lower layers (so no cycle)', () => {
    assert.deepEqual(violations(edges), []);
  });

  it('report/ reads files and draws: nothing from train/, evaluate/ or experiment/', () => {
    const used = new Set(edges.filter((e) => e.from === 'report').map((e) => e.to));
    for (const forbidden of ['train', 'evaluate', 'experiment']) assert.ok(!used.has(forbidden), `report imports ${forbidden}`);
  });

  it('experiment/ sits at the top: only cli/ and index.ts use it', () => {
    const users = new Set(edges.filter((e) => e.to === 'experiment').map((e) => e.from));
    assert.deepEqual([...users].sort(), ['cli', 'index.ts']);
  });
});
