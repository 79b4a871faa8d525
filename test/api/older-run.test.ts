// A run directory written by mdprop at commit fc49645 (fixtures/run-fc49645: one epoch of MDProp
// on 64 Fashion-MNIST images, resnet-small with an 8-dim embedding, then `mdprop eval` and the
// views a report draws; the checkpoint's two tensor files, 8 MB, are left out). Today's code reads
// every file it holds, evaluates its model to the numbers that version wrote into eval.json,
// computes the same views.json, and rebuilds its report.
import assert from 'node:assert/strict';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compareRuns, evaluate, loadModel, loadRun, RunDirectory, writeReport, type EvalFile } from '../../src/index.js';
import { manifestSchema, optimizerMetaSchema, readJsonFile, trainerStateSchema } from '../../src/formats/index.js';
import { writeRunViews } from '../../src/evaluate/index.js';

import { tempDir } from '../train/helpers.js';

const FIXTURE = fileURLToPath(new URL('../../../test/api/fixtures/run-fc49645', import.meta.url));

/** A copy to write into (evaluation and reports write beside the run's files). */
function copyOfRun(): string {
  const dir = join(tempDir('older-run'), 'run');
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

const close = (actual: number | undefined, expected: number | undefined, what: string) =>
  assert.ok(actual !== undefined && expected !== undefined && Math.abs(actual - expected) < 1e-6, `${what}: ${actual} against ${expected}`);

describe('a run directory written by an earlier version', () => {
  it('reads every file it holds with the schemas of today', () => {
    const run = RunDirectory.open(FIXTURE);
    const config = run.readConfig();
    assert.deepEqual([config.dataset, config.method, config.arch, config.embedDim, config.epochs], ['fashion-mnist', 'mdprop', 'resnet-small', 8, 1]);
    assert.equal(run.readSummary().test['recall@1'], 0.625);
    assert.deepEqual(run.readMetrics().map((l) => l.kind), ['epoch', 'eval']);
    assert.equal(run.readEval().attacks.length, 12);
    assert.equal(run.readViews().gallery.queries.length, 12);
    const trainer = readJsonFile(join(FIXTURE, 'checkpoint/trainer.json'), trainerStateSchema);
    assert.deepEqual([trainer.epoch, trainer.step], [1, 4]);
    assert.equal(readJsonFile(join(FIXTURE, 'checkpoint/manifest.json'), manifestSchema).format, 'mdprop.checkpoint/1');
    assert.deepEqual(readJsonFile(join(FIXTURE, 'checkpoint/optimizer.json'), optimizerMetaSchema).groups.map((g) => g.name), ['backbone', 'main_bn', 'aux_bn', 'head']);
    const loaded = loadModel(run.file('model'), { branch: 2 });
    try {
      assert.deepEqual([loaded.arch, loaded.embedDim, loaded.inChannels, loaded.branches, loaded.branch], ['resnet-small', 8, 1, 3, 2]);
    } finally {
      loaded.model.dispose();
    }
    const compared = compareRuns([loadRun(FIXTURE)]);
    assert.equal(compared.runs[0]!.clean['recall@1'], 0.625);
    assert.equal(compared.attacks.length, 12);
  });

  it('evaluates to the numbers that version wrote', async () => {
    const dir = copyOfRun();
    const before = JSON.parse(readFileSync(join(FIXTURE, 'eval.json'), 'utf8')) as EvalFile;
    const now = await evaluate(dir, { attacks: ['stax', 'mtax', 'untargeted', 'fgsm'], eps: [0, 0.03, '4/255'], iters: 3, threads: 1 });
    for (const [metric, value] of Object.entries(before.clean)) close(now.clean[metric], value, `clean ${metric}`);
    assert.deepEqual(now.clean_hits, before.clean_hits);
    assert.deepEqual(now.attacks.map((a) => [a.attack, a.eps, a.iters]), before.attacks.map((a) => [a.attack, a.eps, a.iters]));
    before.attacks.forEach((a, i) => {
      const b = now.attacks[i]!;
      close(b['recall@1'], a['recall@1'], `${a.attack} eps ${a.eps} recall@1`);
      close(b['map@r'], a['map@r'], `${a.attack} eps ${a.eps} map@r`);
      if (a.success_rate !== undefined) close(b.success_rate, a.success_rate, `${a.attack} eps ${a.eps} success rate`);
    });
    assert.equal(new RunDirectory(dir).readEval().attacks.length, 12, 'eval.json rewritten');
  });

  it('computes the views that version computed, and rebuilds its report', async () => {
    const dir = copyOfRun();
    const before = new RunDirectory(FIXTURE).readViews();
    const now = await writeRunViews(dir, { attack: 'stax', eps: 0.1, iters: 3 });
    assert.deepEqual(now.gallery, before.gallery);
    assert.equal(now.map.points.length, before.map.points.length);
    now.map.points.forEach((p, i) => {
      const q = before.map.points[i]!;
      assert.deepEqual([p.label, p.index], [q.label, q.index]);
      assert.ok(Math.abs(p.x - q.x) < 1e-3 && Math.abs(p.y - q.y) < 1e-3, `map point ${i}`);
    });
    const { kind, file } = await writeReport(dir);
    assert.equal(kind, 'run');
    const html = readFileSync(file, 'utf8');
    for (const section of ['Settings', 'Training', 'Clean retrieval', 'Under attack', 'Embedding map', 'Retrieval gallery']) assert.match(html, new RegExp(`<h2[^>]*>${section}</h2>`));
    assert.ok(!html.includes('No eval.json') && !html.includes('No views.json'));
  });
});
