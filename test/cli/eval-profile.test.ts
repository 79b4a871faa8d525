// `mdprop eval --profile rob28|rob224` on a tiny trained Fashion-MNIST run: RobRank's nine attacks at
// its pixel budgets, the ten ERS components under RobRank's names with raw and rescaled values (the
// rescaling recomputed here by hand), the budget converted with the run's normalisation, and
// flags that clash with a profile named in the error.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { runMdprop, spawnMdprop } from '../helpers/cli.js';
import { assertMatchesSchema } from '../helpers/json-schema.js';

const root = mkdtempSync(join(tmpdir(), 'mdprop-eval-profile-'));
const run = join(root, 'run');
const COMPONENTS = ['CA+', 'CA-', 'QA+', 'QA-', 'TMA', 'ES:D', 'ES:R', 'LTM', 'GTM', 'GTT'];

interface ErsOut {
  eps: number;
  eps_text: string;
  iters: number;
  score: number;
  components: Record<string, { raw: number; rescaled: number }>;
  missing: string[];
}
interface Out {
  clean: Record<string, number>;
  attacks: { attack: string; eps: number; iters: number; 'recall@1': number }[];
  ers: ErsOut[];
}
interface Detail {
  attack: string;
  rank?: number;
  cosine?: number;
  retain?: number;
  embedding_shift: number;
  max_perturbation: number;
  metrics: Record<string, number>;
}

/** RobRank's rescaling (tools/pjswipe.py, there in percent), written out by hand. */
function rescaledByHand(name: string, raw: number): number {
  if (name === 'CA+' || name === 'QA+') return 2 * raw;
  if (name === 'CA-' || name === 'QA-' || name === 'TMA') return 1 - raw;
  if (name === 'ES:D') return 1 - raw / 2;
  return raw;
}

before(async () => {
  const r = await runMdprop(['train', '--dataset', 'fashion-mnist', '--method', 'baseline', '--embed-dim', '16', '--epochs', '1', '--batch-size', '8', '--limit-train', '32', '--limit-test', '40', '--eval-batch-size', '20', '--threads', '1', '--seed', '3', '--out', run]);
  assert.equal(r.code, 0, r.stderr);
});

describe('mdprop eval --profile', () => {
  it('rob28 reports the nine attacks at 77/255 and all ten ERS components with their rescaling, and the ERS', () => {
    const r = spawnMdprop(['eval', '--run', run, '--profile', 'rob28', '--limit', '6', '--threads', '1', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Out;
    assertMatchesSchema('eval-output', out);
    assert.deepEqual(Object.keys(out), ['clean', 'attacks', 'ers']);
    assert.deepEqual(
      out.attacks.map((a) => a.attack),
      ['ca+', 'ca-', 'qa+', 'qa-', 'tma', 'es', 'ltm', 'gtm', 'gtt'],
    );
    for (const a of out.attacks) assert.deepEqual([a.eps, a.iters], [77 / 255, 32], a.attack);

    assert.equal(out.ers.length, 1);
    const ers = out.ers[0]!;
    assert.deepEqual([ers.eps_text, ers.iters, ers.missing], ['77/255', 32, []]);
    assert.deepEqual(Object.keys(ers.components), COMPONENTS);
    let sum = 0;
    for (const name of COMPONENTS) {
      const c = ers.components[name]!;
      assert.ok(Math.abs(c.rescaled - rescaledByHand(name, c.raw)) < 1e-12, `${name}: ${c.raw} -> ${c.rescaled}`);
      sum += c.rescaled;
    }
    assert.ok(Math.abs(ers.score - sum / 10) < 1e-12, `ERS ${ers.score} vs ${sum / 10}`);

    // The raw values are the attacks' own measures, as eval.json details them.
    const file = JSON.parse(readFileSync(join(run, 'eval.json'), 'utf8')) as Out & { details: Detail[]; settings: Record<string, unknown> };
    assertMatchesSchema('eval-file', file);
    const detail = (attack: string) => file.details.find((d) => d.attack === attack)!;
    const recall = (attack: string) => out.attacks.find((a) => a.attack === attack)!['recall@1'];
    assert.equal(ers.components['CA+']!.raw, detail('ca+').rank);
    assert.equal(ers.components['QA-']!.raw, detail('qa-').rank);
    assert.equal(ers.components.TMA!.raw, detail('tma').cosine);
    assert.equal(ers.components['ES:D']!.raw, detail('es').embedding_shift);
    assert.equal(ers.components['ES:R']!.raw, recall('es'));
    assert.equal(ers.components.LTM!.raw, recall('ltm'));
    assert.equal(ers.components.GTM!.raw, recall('gtm'));
    assert.equal(ers.components.GTT!.raw, detail('gtt').retain);
    // Attacks that aim at Recall@1 do not raise it.
    for (const attack of ['es', 'ltm', 'gtm']) assert.ok(recall(attack) <= out.clean['recall@1']!, `${attack}: ${recall(attack)} vs clean ${out.clean['recall@1']}`);

    // eval.json names the profile and its settings; 77/255 of the pixel range is 77/255 / std in the run's normalised units.
    const s = file.settings;
    assert.deepEqual([s.profile, s.step_size, s.iters, s.random_start, s.norm, s.rank_partners, s.top_fraction], ['rob28', '3/255', 32, 0, 'linf', 1, 0.01]);
    const std = (s.input_std as number[])[0]!;
    assert.equal(std, 0.226);
    const bound = 77 / 255 / std;
    const largest = Math.max(...file.details.map((d) => d.max_perturbation));
    for (const d of file.details) assert.ok(d.max_perturbation <= bound + 1e-5, `${d.attack}: ${d.max_perturbation} > ${bound}`);
    assert.ok(Math.abs(largest - bound) < 1e-4, `largest perturbation ${largest}, bound ${bound}`);

    // The run's report shows the score and each component.
    const html = readFileSync(join(run, 'report.html'), 'utf8');
    assert.ok(html.includes(`empirical robustness score at eps 77/255, 32 iterations (profile rob28): ${(100 * ers.score).toFixed(1)}`), 'ERS paragraph in report.html');
    for (const name of COMPONENTS) assert.ok(html.includes(`<th scope="row">${name}</th>`), `${name} row in report.html`);
  });

  it('rob224 with --attacks narrows the list; the table shows the partial ERS in percent', async () => {
    const outFile = join(root, 'rob224.json');
    const r = await runMdprop(['eval', '--run', run, '--profile', 'rob224', '--attacks', 'tma,gtt', '--limit', '3', '--threads', '1', '--out', outFile]);
    assert.equal(r.code, 0, r.stderr);
    const file = JSON.parse(readFileSync(outFile, 'utf8')) as Out & { settings: Record<string, unknown> };
    assert.deepEqual(file.attacks.map((a) => [a.attack, a.eps, a.iters]), [['tma', 8 / 255, 32], ['gtt', 8 / 255, 32]]);
    const ers = file.ers[0]!;
    assert.deepEqual(Object.keys(ers.components), ['TMA', 'GTT']);
    assert.deepEqual(ers.missing, ['CA+', 'CA-', 'QA+', 'QA-', 'ES:D', 'ES:R', 'LTM', 'GTM']);
    assert.equal(file.settings.profile, 'rob224');
    const percent = (100 * ers.score).toFixed(1);
    assert.match(r.stdout, new RegExp(`ERS at eps 8/255, 32 iters: ${percent.replace('.', '\\.')} \\(without CA\\+, CA-, QA\\+, QA-, ES:D, ES:R, LTM, GTM\\)`));
  });

  it('rejects an unknown profile and flags the profile fixes, naming the flag', async () => {
    const cases: [string[], RegExp][] = [
      [['--profile', 'rob99'], /^mdprop: --profile: unknown profile 'rob99'; expected one of rob28, rob224/m],
      [['--profile', 'rob28', '--eps', '0.1'], /^mdprop: --eps: the profile rob28 fixes it/m],
      [['--profile', 'rob28', '--iters', '5'], /^mdprop: --iters: the profile rob28 fixes it/m],
      [['--profile', 'rob224', '--step-size', '1/255'], /^mdprop: --step-size: the profile rob224 fixes it/m],
      [['--profile', 'rob28', '--random-start', 'none'], /^mdprop: --random-start: the profile rob28 fixes it/m],
      [['--profile', 'rob28', '--rank-partners', '2'], /^mdprop: --rank-partners: the profile rob28 fixes it/m],
    ];
    for (const [flags, message] of cases) {
      const r = await runMdprop(['eval', '--run', run, ...flags]);
      assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, flags.join(' '));
    }
  });
});
