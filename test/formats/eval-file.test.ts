// eval.json's ERS entries: the ten RobRank components with raw and rescaled values, and entries of
// older files (six lower-case components, rescaled to percent) that still read.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contractOutput, formatEvaluation } from '../../src/evaluate/results.js';
import { evalFileSchema, type EvalFile } from '../../src/formats/index.js';

const SETTINGS = {
  run: null, weights: 'w', dataset: 'fashion-mnist', data_root: null, arch: 'resnet-small', embed_dim: 16, branch: 0, branches: 1, image_size: 28,
  test_resize: 28, channels: 1, queries: 4, gallery: 40, limit: 4, limit_test: 40, seed: 0, norm: 'linf', step_size: '2.5*eps/iters',
  random_start: 'eps', mtax_targets: 5, rank_partners: 1, top_fraction: 0.01, ks: [1], device: 'cpu',
};
const CLEAN = { 'recall@1': 0.75, 'map@r': 0.5, nmi: 0.4 };
const ENTRY = { attack: 'es', eps: 0.1, iters: 2, 'recall@1': 0.25, 'map@r': 0.2 };
const DETAIL = { attack: 'es', eps_text: '0.1', eps_unit: 'normalized', iters: 2, metrics: { 'recall@1': 0.25, 'map@r': 0.2, nmi: 0.3 }, embedding_shift: 0.5, max_perturbation: 0.1 };

describe('eval.json ERS entries', () => {
  it('an older file with six lower-case components in percent still reads, prints its score as stored, and stays out of --json', () => {
    const old = {
      clean: CLEAN,
      attacks: [ENTRY],
      details: [DETAIL],
      ers: [{ eps: 0.1, eps_text: '0.1', iters: 2, score: 50, components: { 'es:d': 75, 'es:r': 25 }, missing: ['ca+', 'ca-', 'qa+', 'qa-'] }],
      settings: SETTINGS,
    };
    const parsed = evalFileSchema.parse(old) as EvalFile;
    assert.match(formatEvaluation(parsed), /ERS at eps 0\.1, 2 iters: 50\.0 \(without ca\+, ca-, qa\+, qa-\)/);
    assert.deepEqual(Object.keys(contractOutput(parsed)), ['clean', 'attacks']);
  });

  it('a current entry prints in percent with its rescaled components; a component outside the ten is refused by name', () => {
    const current = {
      clean: CLEAN,
      attacks: [ENTRY],
      details: [DETAIL],
      ers: [{ eps: 0.1, eps_text: '0.1', iters: 2, score: 0.5, components: { 'ES:D': { raw: 0.5, rescaled: 0.75 }, 'ES:R': { raw: 0.25, rescaled: 0.25 } }, missing: ['CA+', 'CA-', 'QA+', 'QA-', 'TMA', 'LTM', 'GTM', 'GTT'] }],
      settings: { ...SETTINGS, profile: null, iters: 2, input_mean: [0.449], input_std: [0.226] },
    };
    const parsed = evalFileSchema.parse(current) as EvalFile;
    const text = formatEvaluation(parsed);
    assert.match(text, /ERS at eps 0\.1, 2 iters: 50\.0 \(without CA\+/);
    assert.match(text, /rescaled: ES:D 75\.0 {2}ES:R 25\.0/);
    assert.deepEqual(Object.keys(contractOutput(parsed)), ['clean', 'attacks', 'ers']);
    const bad = structuredClone(current) as { ers: { components: Record<string, unknown> }[] };
    bad.ers[0]!.components['ES:X'] = { raw: 1, rescaled: 1 };
    const result = evalFileSchema.safeParse(bad);
    assert.equal(result.success, false);
    assert.match(JSON.stringify(result.error!.issues), /ES:X/);
  });
});
