// evaluate(..., { detect: true }) on a real MDProp run with three BN branches (the fc49645 fixture:
// resnet-small, 64 test images): detection[] holds one entry per attack, budget and auxiliary
// branch; the clean queries' mean gap equals the distance between the embeddings of the model
// loaded on branch 0 and on branch k, computed here apart; an attack of budget 0 leaves every
// query where it was, so its AUROC is exactly chance; a one-branch model is refused by name.
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openDataset, limitEvaluation, testTransform, inputScaling } from '../../src/data/index.js';
import { embedSplit, evaluate, OptionError } from '../../src/evaluate/index.js';
import { loadModelFile, RunDirectory, type EvalFile } from '../../src/formats/index.js';
import { tensor, tidy } from '../../src/torch/index.js';
import { tempDir } from '../train/helpers.js';

const FIXTURE = fileURLToPath(new URL('../../../test/api/fixtures/run-fc49645', import.meta.url));
const IMAGES = fileURLToPath(new URL('../../../test/api/fixtures/fashion-npm-64', import.meta.url));

function copyOfRun(): string {
  const dir = join(tempDir('detect'), 'run');
  cpSync(FIXTURE, dir, { recursive: true });
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, dataRoot: IMAGES }, null, 2));
  return dir;
}

/** Mean over the test images of ||f_0(x) - f_k(x)||, each branch's model loaded on its own. */
async function cleanGap(dir: string, branch: number): Promise<number> {
  const config = new RunDirectory(dir).readConfig();
  const dataset = await openDataset(config.dataset, { root: IMAGES });
  const { query } = limitEvaluation(dataset.evaluation, config.limitTest ?? undefined);
  const transform = testTransform({ resize: config.testResize, crop: config.imageSize, channels: config.channels, ...inputScaling(config.normalization, config.channels) });
  const rows: { rows: Float32Array; dim: number }[] = [];
  for (const k of [0, branch]) {
    const loaded = loadModelFile(join(dir, 'model.safetensors'), { branch: k });
    try {
      rows.push(await embedSplit((x) => loaded.model.forward(x), query, { transform, batchSize: 64, device: 'cpu' }));
    } finally {
      loaded.model.dispose();
    }
  }
  return tidy(() => {
    const [a, b] = rows.map((r) => tensor(r.rows, [query.size, r.dim]));
    return a!.sub(b!).norm(2, 1).mean().item();
  });
}

describe('evaluate with the detector', () => {
  it('scores clean and attacked queries by their branch gaps; budget 0 is chance; the clean gap is the branches’ distance', async () => {
    const dir = copyOfRun();
    const report: EvalFile = await evaluate(dir, { attacks: ['stax', 'untargeted'], eps: [0, 0.3], iters: 2, detect: true, threads: 1 });
    const detection = report.detection!;
    assert.deepEqual(
      detection.map((d) => [d.attack, d.eps_text, d.branch]),
      [['stax', '0', 1], ['stax', '0', 2], ['stax', '0.3', 1], ['stax', '0.3', 2], ['untargeted', '0', 1], ['untargeted', '0', 2], ['untargeted', '0.3', 1], ['untargeted', '0.3', 2]],
    );
    for (const d of detection) {
      if (d.eps === 0) {
        assert.equal(d.auroc, 0.5, `${d.attack} at budget 0: the same queries on both sides`);
        assert.ok(Math.abs(d.mean_gap_attacked - d.mean_gap_clean) < 1e-6);
      }
      assert.equal(d.roc.fpr[0], 0);
      assert.equal(d.roc.tpr[d.roc.tpr.length - 1], 1);
    }
    for (const branch of [1, 2]) {
      const want = await cleanGap(dir, branch);
      const got = detection.find((d) => d.branch === branch)!.mean_gap_clean;
      assert.ok(Math.abs(got - want) < 1e-5, `branch ${branch}: clean gap ${got} against ${want}`);
      assert.ok(want > 0, 'the branches differ');
    }
    assert.deepEqual(new RunDirectory(dir).readEval().detection?.length, 8, 'eval.json holds detection[]');
  });

  it('refuses a model without auxiliary branches, naming detect', async () => {
    const dir = copyOfRun();
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    // The same weights without their aux file: one branch.
    cpSync(join(dir, 'model.safetensors'), join(dir, 'alone.safetensors'));
    await assert.rejects(
      evaluate(null, { weights: join(dir, 'alone.safetensors'), dataset: config.dataset as 'fashion-mnist', dataRoot: IMAGES, detect: true }),
      (err: unknown) => err instanceof OptionError && /^detect: .*holds 1 BN branch/.test(err.message),
    );
  });
});
