// The defenses' cores: the pair miners and the triplet term on hand-worked cases, and each
// defense's adversarial examples moving the embeddings the way the defense intends.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { minePairs, PairTripletLoss, tripletMarginMean } from '../../src/dml/index.js';
import {
  collapsePairs,
  defenseLoss,
  destinationHardness,
  embeddingShift,
  freshDefenseMemory,
  manipulateHardness,
  methodStep,
  presetMethod,
  tripletHardness,
  validateMethod,
  type DefenseSpec,
} from '../../src/methods/index.js';
import { methodSpecSchema, parseWithSchema } from '../../src/formats/index.js';
import { createModel, type EmbeddingModel } from '../../src/nn/index.js';
import { SGD } from '../../src/optim/index.js';
import * as T from '../../src/torch/index.js';
import { noGrad, tidy, type Tensor } from '../../src/torch/index.js';

const ids = (xs: readonly number[]) => T.tensor(xs, [xs.length], { dtype: 'int64' });

function spec(kind: DefenseSpec['kind'], overrides: Partial<DefenseSpec> = {}): DefenseSpec {
  return { kind, eps: 0.1, iters: 5, step: null, margin: 0.2, gradual: true, intraClass: 0.5, ...overrides };
}

function c2f2(seed = 1): EmbeddingModel {
  T.manualSeed(seed);
  return createModel({ arch: 'c2f2', embedDim: 8, inChannels: 1 }).eval();
}

/** Eight 28x28 images in [0, 1], four classes in same-class pairs. */
function pairBatch(): { images: Tensor; labels: Tensor } {
  T.manualSeed(7);
  return { images: T.rand([8, 1, 28, 28]), labels: ids([0, 0, 1, 1, 2, 2, 3, 3]) };
}

const embed = (model: EmbeddingModel, x: Tensor) => noGrad(() => model.forward(x));
const meanGap = (a: Tensor, b: Tensor) => a.sub(b).norm(2, 1).mean().item();
/** Uniform random signs of size eps: a perturbation as large as the attack's, in no chosen direction. */
const randomSigns = (x: Tensor, eps: number) => x.add(T.rand([...x.shape]).sub(0.5).sign().mul(eps)).clamp(0, 1);

describe('triplet term', () => {
  it('is the mean of max(0, d(a,p) - d(a,n) + margin) with plain Euclidean distances', () => {
    tidy(() => {
      // (0,0),(3,4),(0,1): 5 - 1 + 0.2 = 4.2; (1,0),(1,0),(4,4): 0 - 5 + 0.2 < 0 -> 0.
      const a = T.tensor([0, 0, 1, 0], [2, 2]);
      const p = T.tensor([3, 4, 1, 0], [2, 2]);
      const n = T.tensor([0, 1, 4, 4], [2, 2]);
      assert.ok(Math.abs(tripletMarginMean(a, p, n, 0.2).item() - 2.1) < 1e-6);
      assert.deepEqual(tripletHardness(T.cat([a, p, n])).toNumbers().map((v) => Math.round(v * 1e6) / 1e6), [4, -5]);
    });
  });
});

describe('pair miners', () => {
  it('random: anchors are even rows, positives the odd row after, negatives of another class', () => {
    tidy(() => {
      const labels = ids([0, 0, 1, 1, 0, 0, 2, 2]);
      for (let seed = 0; seed < 10; seed++) {
        T.manualSeed(seed);
        const t = minePairs('random', labels, null);
        assert.deepEqual(t.anchors.toNumbers(), [0, 2, 4, 6]);
        assert.deepEqual(t.positives.toNumbers(), [1, 3, 5, 7]);
        const l = labels.toNumbers();
        t.negatives.toNumbers().forEach((n, i) => assert.notEqual(l[n], l[2 * i]));
      }
    });
  });

  it('refuses a batch that is not same-class pairs, naming the rows', () => {
    tidy(() => assert.throws(() => minePairs('random', ids([0, 1, 1, 0]), null), /rows 0 and 1 have labels 0 and 1/));
  });

  it('semihard: only negatives with d(a,p) < d(a,n) < d(a,p) + margin; any negative when none', () => {
    tidy(() => {
      // Row 0: positive at 1.0; negatives 2 (1.1, semi-hard), 3 (0.5, harder), 4 (3, easy), 5 (1.15, semi-hard).
      // Row 2: positive at 0.1; every negative is far (no semi-hard one): any of 0, 1, 4, 5.
      const d = T.zeros([6, 6]);
      const set = (i: number, j: number, v: number) => noGrad(() => d.select(0, i).narrow(0, j, 1).fill_(v));
      [[1, 1], [2, 1.1], [3, 0.5], [4, 3], [5, 1.15]].forEach(([j, v]) => set(0, j!, v!));
      [[3, 0.1], [0, 2], [1, 2], [4, 2], [5, 2]].forEach(([j, v]) => set(2, j!, v!));
      const seen = [new Set<number>(), new Set<number>()];
      for (let seed = 0; seed < 40; seed++) {
        T.manualSeed(seed);
        const n = minePairs('semihard', ids([0, 0, 1, 1, 2, 2]), d, 0.2).negatives.toNumbers();
        seen[0]!.add(n[0]!);
        seen[1]!.add(n[1]!);
      }
      assert.deepEqual([...seen[0]!].sort(), [2, 5]);
      assert.deepEqual([...seen[1]!].sort(), [0, 1, 4, 5]);
    });
  });

  it('softhard: negatives nearer than the farthest same-class row, positives farther than the nearest other-class row', () => {
    tidy(() => {
      // Labels 0,0,1,1,0,0: anchor 0's same-class rows 1 (0.3), 4 (0.9), 5 (0.2); negatives 2 (0.5), 3 (1.2).
      // Soft negatives: d < 0.9 -> {2}. Soft positives: d > 0.5 -> {4}.
      const d = T.tensor([0, 0.3, 0.5, 1.2, 0.9, 0.2], [1, 6]).expand([6, 6]).contiguous();
      for (let seed = 0; seed < 10; seed++) {
        T.manualSeed(seed);
        const t = minePairs('softhard', ids([0, 0, 1, 1, 0, 0]), d);
        assert.equal(t.negatives.toNumbers()[0], 2);
        assert.equal(t.positives.toNumbers()[0], 4);
      }
    });
  });

  it("softhard: with no soft positive, the positive is any row of the anchor's class, the anchor itself included (RobRank's fallback)", () => {
    tidy(() => {
      // Anchor 0's same-class rows 1 (0.1) and 4 (0.2) are nearer than its nearest negative 2 (0.5):
      // no soft positive, so the positive is drawn from {0, 1, 4, 5} (5 at 0.3), the anchor included.
      const d = T.tensor([0, 0.1, 0.5, 1.2, 0.2, 0.3], [1, 6]).expand([6, 6]).contiguous();
      const seen = new Set<number>();
      for (let seed = 0; seed < 60; seed++) {
        T.manualSeed(seed);
        seen.add(minePairs('softhard', ids([0, 0, 1, 1, 0, 0]), d).positives.toNumbers()[0]!);
      }
      assert.deepEqual([...seen].sort(), [0, 1, 4, 5]);
    });
  });
});

describe('EST: embedding shift', () => {
  it('moves each embedding away from its clean one, further than random noise of the same size, inside the box', () => {
    const model = c2f2();
    try {
      tidy(() => {
        const { images } = pairBatch();
        const clean = embed(model, images);
        T.manualSeed(11);
        const adv = embeddingShift(model, spec('est'), images);
        assert.ok(adv.sub(images).abs().max().item() <= 0.1 + 1e-6);
        const shifted = meanGap(embed(model, adv), clean);
        const noisy = meanGap(embed(model, randomSigns(images, 0.1)), clean);
        assert.ok(shifted > 2 * noisy, `shift ${shifted} vs random ${noisy}`);
      });
    } finally {
      model.dispose();
    }
  });
});

describe('ACT: collapsing positives onto negatives', () => {
  it('brings each positive’s embedding closer to its negative’s than the clean pair and than random noise', () => {
    const model = c2f2();
    try {
      tidy(() => {
        const { images } = pairBatch();
        const p = images.narrow(0, 0, 4);
        const n = images.narrow(0, 4, 4);
        const moved = collapsePairs(model, spec('act'), p, n);
        assert.deepEqual(moved.shape, [8, 1, 28, 28]);
        const after = embed(model, moved);
        const gapClean = meanGap(embed(model, p), embed(model, n));
        const gapMoved = meanGap(after.narrow(0, 0, 4), after.narrow(0, 4, 4));
        const gapNoisy = meanGap(embed(model, randomSigns(p, 0.1)), embed(model, randomSigns(n, 0.1)));
        assert.ok(gapMoved < 0.8 * gapClean && gapMoved < gapNoisy, `collapsed ${gapMoved}, clean ${gapClean}, random ${gapNoisy}`);
      });
    } finally {
      model.dispose();
    }
  });
});

describe('HM: hardness manipulation', () => {
  it('gradual destination: -margin * clamp(previous loss, 0, margin) / margin', () => {
    tidy(() => {
      const unused = T.zeros([2, 2]);
      const at = (previousLoss: number) => destinationHardness(spec('hm'), { previousLoss }, unused, ids([0, 0]), unused) as number;
      assert.ok(Math.abs(at(2.0) + 0.2) < 1e-12);
      assert.ok(Math.abs(at(0.05) + 0.05) < 1e-12);
      assert.ok(Math.abs(at(-1)) < 1e-12);
      assert.equal(freshDefenseMemory().previousLoss, 2.0);
    });
  });

  it('raises the hardness of triplets easier than the destination towards it', () => {
    const model = c2f2();
    try {
      tidy(() => {
        const { images } = pairBatch();
        const stacked = T.cat([images.narrow(0, 0, 2), images.narrow(0, 2, 2), images.narrow(0, 4, 2)]);
        const before = tripletHardness(embed(model, stacked));
        // A destination above every clean triplet: all are too easy and must get harder.
        const destination = before.max().item() + 0.5;
        const moved = manipulateHardness(model, spec('hm', { iters: 8 }), stacked, destination);
        const after = tripletHardness(embed(model, moved));
        const shortfall = (h: Tensor) => h.sub(destination).clampMax(0).square().mean().item();
        assert.ok(shortfall(after) < shortfall(before), `shortfall ${shortfall(before)} -> ${shortfall(after)}`);
        assert.ok(after.mean().item() > before.mean().item());
      });
    } finally {
      model.dispose();
    }
  });

  it('leaves triplets already harder than the destination unchanged', () => {
    const model = c2f2();
    try {
      tidy(() => {
        const { images } = pairBatch();
        const stacked = images.narrow(0, 0, 6);
        const moved = manipulateHardness(model, spec('hm'), stacked, -10);
        assert.equal(moved.sub(stacked).abs().max().item(), 0);
      });
    } finally {
      model.dispose();
    }
  });

  it('adds intraClass times max(0, d(a, a′) - d(a, p)) and records the adversarial triplet loss for the next step', () => {
    const model = c2f2();
    try {
      tidy(() => {
        const { images, labels } = pairBatch();
        const lossWith = (intraClass: number) => {
          const memory = freshDefenseMemory();
          T.manualSeed(5);
          const loss = defenseLoss(model, spec('hm', { intraClass }), { compute: () => T.scalar(0) }, images, labels, memory).item();
          return { loss, previous: memory.previousLoss };
        };
        const plain = lossWith(0);
        const structured = lossWith(0.5);
        assert.equal(plain.loss, plain.previous);
        assert.equal(structured.previous, plain.previous);
        assert.ok(structured.loss >= plain.loss);
      });
    } finally {
      model.dispose();
    }
  });
});

describe('defenses as methods', () => {
  it('the presets est, act and hm: one branch, no distributions, the run’s budget', () => {
    const m = presetMethod('act', { eps: 0.3, iters: 4, step: 0.05 });
    assert.deepEqual(m, { name: 'act', branches: 1, distributions: [], defense: { kind: 'act', eps: 0.3, iters: 4, step: 0.05, margin: 0.2, gradual: true, intraClass: 0.5 } });
    assert.equal(presetMethod('est').defense?.step, null);
  });

  it('a method file may carry a defense; a wrong one is refused naming the file and field', () => {
    const written = { name: 'my-act', branches: 1, distributions: [], defense: { kind: 'act', eps: 0.2, iters: 3, step: null, margin: 0.2, gradual: false, intraClass: 0 } };
    assert.deepEqual(parseWithSchema('m.json', methodSpecSchema, written), written);
    assert.throws(() => parseWithSchema('m.json', methodSpecSchema, { ...written, defense: { ...written.defense, kind: 'trades' } }), /m\.json.*defense\.kind/);
    assert.throws(() => parseWithSchema('m.json', methodSpecSchema, { ...written, defense: { ...written.defense, iterations: 3 } }), /m\.json/);
  });

  it('validation names the defense field at fault', () => {
    const hm = presetMethod('hm');
    assert.throws(() => validateMethod({ ...hm, distributions: [{ kind: 'targeted', targets: 1, eps: 0.01, iters: 1, part: [0, 1], branch: 1 }], branches: 2 }), /give distributions: \[\] with it/);
    assert.throws(() => validateMethod({ ...hm, defense: { ...hm.defense!, step: 0 } }), /defense\.step must be > 0 or null/);
    assert.throws(() => validateMethod({ ...hm, defense: { ...hm.defense!, margin: 0 } }), /defense\.margin must be > 0 for the gradual adversary/);
  });

  for (const kind of ['est', 'act', 'hm'] as const) {
    it(`${kind}: one method step trains on the adversarial loss and changes the weights`, () => {
      const model = c2f2();
      const optimizer = new SGD(model.parameters(), { lr: 0.1 });
      try {
        tidy(() => {
          const { images, labels } = pairBatch();
          const before = model.head.weight.clone();
          const criterion = new PairTripletLoss();
          const result = methodStep({ model, method: presetMethod(kind, { eps: 0.1, iters: 2 }), criterion, optimizer }, images, labels);
          assert.ok(Number.isFinite(result.loss) && result.loss >= 0);
          assert.deepEqual(result.samplesPerBranch, [8]);
          assert.ok(model.head.weight.sub(before).abs().max().item() > 0);
        });
      } finally {
        optimizer.dispose();
        model.dispose();
      }
    });
  }
});
