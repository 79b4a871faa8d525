// RobRank's protocol against a PyTorch reference written here: the attack loop as RobRank runs it
// on [0, 1] pixels (sign steps of alpha, clipped to the eps box and to [0, 1], no random start) with
// the input normalisation inside the model, against mdprop's PGD on normalised inputs with the
// rob28 budgets (77/255, steps of 3/255) converted by the channels' std. TMA and LTM, with queries
// that are not in the gallery (so the objectives are the same on both sides). The adversarial
// pixels must agree.
// Needs Debian's /usr/bin/python3 with torch; MDPROP_REFERENCE_PYTHON names another interpreter.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { prepareAttack, type QueryBatch } from '../../src/adversarial/attacks.js';
import { disposeRange, normalizedPixelRange, parseBudget } from '../../src/adversarial/budget.js';
import { pgdOptionsFor } from '../../src/adversarial/robustness.js';
import { CleanGallery } from '../../src/adversarial/gallery.js';
import { featurePgd, type EmbedFn } from '../../src/adversarial/pgd.js';
import { PROFILES } from '../../src/adversarial/profiles.js';
import { randomRows } from '../../src/adversarial/targets.js';
import * as T from '../../src/torch/index.js';
import { F, noGrad } from '../../src/torch/index.js';

const python = process.env.MDPROP_REFERENCE_PYTHON ?? '/usr/bin/python3';
const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
const skipReason = probe.error ? `${python} not found` : probe.status === 0 ? null : `${python} cannot import torch (apt-get install python3-torch)`;

const MEAN = [0.5, 0.4];
const STD = [0.25, 0.5];
const SHAPE = [2, 4, 4];
const PER = 32;
const QUERIES = 6;
const GALLERY = 20;
const ITERS = PROFILES.rob28.iters;

T.manualSeed(21);
const w1 = T.keep(T.randn([16, PER]).mul(0.5));
const w2 = T.keep(T.randn([8, 16]).mul(0.5));
const pixels = T.keep(T.rand([QUERIES + GALLERY, ...SHAPE]));
const normalized = T.keep(T.tidy(() => pixels.sub(T.tensor(MEAN, [1, 2, 1, 1])).div(T.tensor(STD, [1, 2, 1, 1]))));
/** mdprop's side of the model: normalised images in. */
const embed: EmbedFn = (x) => F.l2Normalize(F.linear(F.linear(x.flatten(1), w1).tanh(), w2), 1);
const labels = Int32Array.from({ length: QUERIES + GALLERY }, (_, i) => i % 3);
const galleryLabels = labels.slice(QUERIES);
const gallery = noGrad(() => T.tidy(() => new CleanGallery(embed(normalized.narrow(0, QUERIES, GALLERY)), galleryLabels)));
const range = normalizedPixelRange(MEAN, STD);
after(() => {
  gallery.dispose();
  disposeRange(range);
  T.dispose([w1, w2, pixels, normalized]);
});

/** RobRank's loop in PyTorch: the model sees [0, 1] pixels and normalises them itself. */
const REFERENCE = String.raw`
import json, sys, torch
import torch.nn.functional as F
torch.set_default_dtype(torch.float32)
spec = json.load(sys.stdin)
w1 = torch.tensor(spec['w1']).view(16, 32); w2 = torch.tensor(spec['w2']).view(8, 16)
mean = torch.tensor(spec['mean']).view(1, -1, 1, 1); std = torch.tensor(spec['std']).view(1, -1, 1, 1)
def model(x):
    z = ((x - mean) / std).flatten(1)
    return F.normalize(torch.tanh(z @ w1.t()) @ w2.t())
images = torch.tensor(spec['queries']).view(-1, 2, 4, 4)
gal_x = torch.tensor(spec['gallery']).view(-1, 2, 4, 4)
labels = torch.tensor(spec['labels']); gal_labels = torch.tensor(spec['gallery_labels'])
with torch.no_grad():
    candi = model(gal_x)
eps, alpha = spec['eps'], spec['alpha']
orig = images.clone()
x = images.clone().requires_grad_(True)
for _ in range(spec['iters']):
    out = model(x)
    if spec['attack'] == 'tma':
        target = candi[torch.tensor(spec['targets'])]
        loss = (1 - F.cosine_similarity(out, target)).mean()
    else:
        dist = torch.cdist(out, candi)
        same = gal_labels.view(1, -1) == labels.view(-1, 1)
        far_other = torch.stack([dist[i, ~same[i]].max() for i in range(dist.size(0))])
        near_same = torch.stack([dist[i, same[i]].min() for i in range(dist.size(0))])
        loss = (far_other - near_same).relu().sum()
    grad, = torch.autograd.grad(loss, x)
    with torch.no_grad():
        x = x - alpha * grad.sign()
        x = torch.min(x, orig + eps)
        x = torch.max(x, orig - eps)
        x = x.clamp(0, 1)
    x.requires_grad_(True)
print(json.dumps(x.detach().flatten().tolist()))
`;

function mdpropPixels(attack: 'tma' | 'ltm'): { adversarial: number[]; targets: Int32Array } {
  return T.tidy(() => {
    const images = normalized.narrow(0, 0, QUERIES);
    const ids = Int32Array.from({ length: QUERIES }, (_, i) => i);
    const ownRows = new Int32Array(QUERIES).fill(-1);
    const batch: QueryBatch = { images, clean: noGrad(() => embed(images)), labels: labels.slice(0, QUERIES), ids, ownRows };
    const suite = { mtaxTargets: 1, rankPartners: 1, topFraction: 0.01, seed: 3 };
    const prepared = prepareAttack(attack, batch, gallery, suite);
    const profile = PROFILES.rob28;
    const pgd = pgdOptionsFor(
      { attack, budget: parseBudget(profile.eps), iters: profile.iters },
      { norm: profile.norm, stepSize: parseBudget(profile.stepSize), randomStart: profile.randomStart, range, std: STD },
    );
    const adv = featurePgd(embed, images, prepared.goal, pgd);
    const back = adv.mul(T.tensor(STD, [1, 2, 1, 1])).add(T.tensor(MEAN, [1, 2, 1, 1]));
    return { adversarial: back.toNumbers(), targets: randomRows(gallery, ownRows, ids, 1, suite.seed, 'tma') };
  });
}

describe("RobRank's attack loop in PyTorch against the rob28 profile", () => {
  for (const attack of ['tma', 'ltm'] as const) {
    it(`${attack}: the same adversarial pixels`, (t) => {
      if (skipReason) {
        t.skip(skipReason);
        return;
      }
      const ours = mdpropPixels(attack);
      const spec = {
        attack,
        w1: w1.toNumbers(),
        w2: w2.toNumbers(),
        mean: MEAN,
        std: STD,
        queries: pixels.narrow(0, 0, QUERIES).toNumbers(),
        gallery: pixels.narrow(0, QUERIES, GALLERY).toNumbers(),
        labels: Array.from(labels.slice(0, QUERIES)),
        gallery_labels: Array.from(galleryLabels),
        targets: Array.from(ours.targets),
        eps: 77 / 255,
        alpha: 3 / 255,
        iters: ITERS,
      };
      const py = spawnSync(python, ['-c', REFERENCE], { input: JSON.stringify(spec), encoding: 'utf8' });
      assert.equal(py.status, 0, py.stderr);
      const reference = JSON.parse(py.stdout) as number[];
      assert.equal(reference.length, ours.adversarial.length);
      let diff = 0;
      let moved = 0;
      const original = spec.queries;
      reference.forEach((v, i) => {
        diff = Math.max(diff, Math.abs(v - ours.adversarial[i]!));
        moved = Math.max(moved, Math.abs(v - original[i]!));
      });
      t.diagnostic(`${attack}: max abs pixel difference ${diff.toExponential(2)}, largest move ${moved.toFixed(4)}`);
      // 32 steps of 3/255 reach the 77/255 box: its bound is part of what agrees.
      assert.ok(Math.abs(moved - 77 / 255) < 1e-6, `${attack}: the reference attack's largest move ${moved}, not the budget`);
      assert.ok(diff < 1e-5, `${attack}: max abs pixel difference ${diff}`);
    });
  }
});
