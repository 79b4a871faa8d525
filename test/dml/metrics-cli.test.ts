// `mdprop metrics` on small files: the JSON contract and the table from the binary, and errors
// naming file and tensor (in this process).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { retrievalMetrics } from '../../src/dml/index.js';
import { tensor, tidy, writeSafetensors } from '../../src/torch/index.js';
import { runMdprop, spawnMdprop } from '../helpers/cli.js';
import { clusteredEmbeddings, referenceRetrieval } from './reference.js';

const dir = mkdtempSync(join(tmpdir(), 'mdprop-metrics-'));
const data = clusteredEmbeddings(4, 6, 8, 5, 0.5);
const n = data.rows.length;
const file = (name: string): string => join(dir, name);

before(() => {
  tidy(() => {
    const embeddings = tensor(data.rows.flat(), [n, 5]);
    const labels = tensor(data.labels, [n], { dtype: 'int64' });
    writeSafetensors(file('both.safetensors'), { embeddings, labels });
    writeSafetensors(file('embeddings.safetensors'), { embeddings });
    writeSafetensors(file('labels.safetensors'), { labels });
    writeSafetensors(file('short-labels.safetensors'), { labels: labels.narrow(0, 0, n - 1) });
    writeSafetensors(file('float-labels.safetensors'), { labels: labels.to('float32') });
    writeSafetensors(file('float64.safetensors'), { embeddings: embeddings.to('float64'), labels });
    writeSafetensors(file('flat.safetensors'), { embeddings: embeddings.flatten(), labels });
  });
});

describe('mdprop metrics', () => {
  it('prints the contract keys as JSON, matching the library and the reference', () => {
    const r = spawnMdprop(['metrics', '--embeddings', file('both.safetensors'), '--k', '1,2,4,8', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as Record<string, number>;
    for (const key of ['recall@1', 'recall@2', 'recall@4', 'recall@8', 'map@r', 'map_c', 'r_precision', 'nmi', 'f1', 'pi_ratio']) {
      assert.equal(typeof json[key], 'number', key);
      if (key !== 'pi_ratio') assert.ok(json[key]! >= 0 && json[key]! <= 1, `${key} = ${json[key]}`);
    }
    const expected = tidy(() =>
      retrievalMetrics({ queries: tensor(data.rows.flat(), [n, 5]), queryLabels: tensor(data.labels, [n], { dtype: 'int64' }), ks: [1, 2, 4, 8] }),
    );
    assert.deepEqual(json, JSON.parse(JSON.stringify(expected)));
    const reference = referenceRetrieval(data.rows.map((r) => Array.from(Float32Array.from(r))), data.labels, null, null, [1]);
    assert.ok(Math.abs(json['recall@1']! - reference.recall.get(1)!) < 1e-4);
  });

  it('reads labels from a separate file and prints a table without --json', () => {
    const r = spawnMdprop(['metrics', '--embeddings', file('embeddings.safetensors'), '--labels', file('labels.safetensors'), '--k', '1,3']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.deepEqual(lines.map((l) => l.split(/\s+/)[0]), ['recall@1', 'recall@3', 'map@r', 'map_c', 'r_precision', 'nmi', 'f1', 'pi_ratio', 'map', 'rho_spectrum']);
    for (const line of lines) assert.match(line, /^\S+\s+\d+\.\d{4}$/);
  });

  const failures: [string, string[], RegExp][] = [
    ['a missing file', ['--embeddings', file('absent.safetensors')], /--embeddings .*absent\.safetensors: file not found/],
    ['a missing labels tensor', ['--embeddings', file('embeddings.safetensors')], /embeddings\.safetensors: no tensor 'labels'/],
    ['a missing embeddings tensor', ['--embeddings', file('labels.safetensors')], /labels\.safetensors: no tensor 'embeddings'/],
    ['float64 embeddings', ['--embeddings', file('float64.safetensors')], /float64\.safetensors: tensor 'embeddings' must be float32 \[N, D\], got float64/],
    ['1-D embeddings', ['--embeddings', file('flat.safetensors')], /flat\.safetensors: tensor 'embeddings' must be float32 \[N, D\], got float32 \[\d+\]/],
    ['float labels', ['--embeddings', file('embeddings.safetensors'), '--labels', file('float-labels.safetensors')], /float-labels\.safetensors: tensor 'labels' must be int64/],
    ['a length mismatch', ['--embeddings', file('embeddings.safetensors'), '--labels', file('short-labels.safetensors')], /short-labels\.safetensors: tensor 'labels' has 47 entries but tensor 'embeddings' in .*embeddings\.safetensors has 48 rows/],
    ['a bad --k', ['--embeddings', file('both.safetensors'), '--k', '1,0'], /--k: expected a positive integer, got '0'/],
  ];
  for (const [what, args, message] of failures) {
    it(`rejects ${what} with exit code 2`, async () => {
      const r = await runMdprop(['metrics', ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    });
  }
});
