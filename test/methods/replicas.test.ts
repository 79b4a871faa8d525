// --bn-replicas: the MDProp authors' nn.DataParallel over R GPUs, in one process. Checked against
// a computation written out by hand with plain ops on c2f2-bn (its three batch norms included) for
// a batch of 16 over 3 replicas: chunks of 6, 6 and 4 rows as DataParallel scatters them; each
// chunk's STAX and MTAX examples made from its own rows (targets permuted within its own halves)
// with the running statistics the step started with; each chunk's clean, STAX and MTAX segments
// normalised with their own batch statistics; the loss over every chunk's rows in chunk order; the
// running statistics left as the first chunk moved them, counted once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { methodStep, presetMethod, replicaChunks, type DistributionDraws } from '../../src/methods/index.js';
import { convertToMultiBatchNorm, createModel, multiBatchNorms, type EmbeddingModel } from '../../src/nn/index.js';
import * as T from '../../src/torch/index.js';
import { F, noGrad, tidy, type Tensor } from '../../src/torch/index.js';

const EPS = 0.05;
const MOMENTUM = 0.1;
const BN_EPS = 1e-5;
const LAYERS = ['bn1', 'bn2', 'bn3'] as const;

function model3(): EmbeddingModel {
  T.manualSeed(2);
  const model = convertToMultiBatchNorm(createModel({ arch: 'c2f2-bn', embedDim: 8, inChannels: 1 }), 3);
  // Every branch its own scale, shift and running statistics, so that a wrong branch or wrong statistics show.
  tidy(() =>
    noGrad(() => {
      for (const m of multiBatchNorms(model)) {
        for (let k = 0; k < 3; k++) {
          const bn = m.branch(k);
          const c = bn.numFeatures;
          bn.weight!.copy_(T.rand([c]).mul(0.5).add(0.75));
          bn.bias!.copy_(T.randn([c]).mul(0.2));
          bn.runningMean!.copy_(T.randn([c]).mul(0.3));
          bn.runningVar!.copy_(T.rand([c]).add(0.5));
        }
      }
    }),
  );
  return model;
}

/** The model's live tensors by name, parameters as leaves that take gradients (branch k of bn1 is `bn1` for k = 0, `bn1.aux.<k-1>` after). */
function tensors(model: EmbeddingModel): Map<string, Tensor> {
  return new Map([...model.namedBuffers(), ...model.namedParameters()]);
}
const bnName = (layer: string, branch: number) => (branch === 0 ? layer : `${layer}.aux.${branch - 1}`);

type BnMode = { kind: 'eval'; branch: number } | { kind: 'train'; segments: { size: number; branch: number }[] };

interface SegmentStats {
  layer: string;
  branch: number;
  mean: Tensor;
  unbiasedVar: Tensor;
}

/** c2f2-bn written out: conv 5x5 pad 2, BN, ReLU, pool; again; fc 3136->1024, BN, ReLU; fc; L2 norm. */
function handForward(p: Map<string, Tensor>, x: Tensor, mode: BnMode, stats: SegmentStats[] = []): Tensor {
  const bn = (h: Tensor, layer: string): Tensor => {
    const shape = (t: Tensor) => t.reshape([1, -1, 1, 1]);
    const apply = (part: Tensor, branch: number, mean: Tensor, variance: Tensor) => {
      const name = bnName(layer, branch);
      return part.sub(shape(mean)).div(shape(variance.add(BN_EPS).sqrt())).mul(shape(p.get(`${name}.weight`)!)).add(shape(p.get(`${name}.bias`)!));
    };
    if (mode.kind === 'eval') {
      const name = bnName(layer, mode.branch);
      return apply(h, mode.branch, p.get(`${name}.running_mean`)!, p.get(`${name}.running_var`)!);
    }
    let at = 0;
    const parts = mode.segments.map((s) => {
      const part = h.narrow(0, at, s.size);
      at += s.size;
      const flat = part.transpose(0, 1).reshape([part.shape[1]!, -1]);
      const mean = flat.mean(1);
      const centred = flat.sub(mean.unsqueeze(1));
      const count = flat.shape[1]!;
      const biased = centred.square().sum(1).div(count);
      stats.push({ layer, branch: s.branch, mean: noGrad(() => mean.detach()), unbiasedVar: noGrad(() => centred.square().sum(1).div(count - 1).detach()) });
      return apply(part, s.branch, mean, biased);
    });
    return T.cat(parts, 0);
  };
  let h = F.conv2d(x, p.get('conv1.weight')!, p.get('conv1.bias')!, { padding: 2 });
  h = F.maxPool2d(F.relu(bn(h, 'bn1')), 2, { stride: 2 });
  h = F.conv2d(h, p.get('conv2.weight')!, p.get('conv2.bias')!, { padding: 2 });
  h = F.maxPool2d(F.relu(bn(h, 'bn2')), 2, { stride: 2 });
  h = F.linear(h.flatten(1), p.get('fc1.weight')!, p.get('fc1.bias')!);
  h = F.relu(bn(h.reshape([h.shape[0]!, -1, 1, 1]), 'bn3')).flatten(1);
  return F.l2Normalize(F.linear(h, p.get('fc.weight')!, p.get('fc.bias')!), 1);
}

/** MDProp's attack on one slice, by hand: eval mode through `branch`, one sign step of eps towards the targets. */
function handAttack(p: Map<string, Tensor>, branch: number, x: Tensor, draws: DistributionDraws): Tensor {
  const clean = noGrad(() => handForward(p, x, { kind: 'eval', branch }));
  const targets = draws.permutations!.map((order) => clean.indexSelect(0, T.tensor([...order], [order.length], { dtype: 'int64' })));
  const lo = x.sub(EPS).maximum(x.min());
  const hi = x.add(EPS).minimum(x.max());
  const leaf = x.add(draws.startNoise!).maximum(lo).minimum(hi).setRequiresGrad(true);
  const f = handForward(p, leaf, { kind: 'eval', branch });
  const distance = targets.map((t) => t.sub(f).norm(2, 1).mean()).reduce((a, b) => a.add(b)).div(targets.length);
  const [g] = T.grad(distance.square(), [leaf]);
  return noGrad(() => leaf.detach().sub(g!.sign().mul(EPS)).maximum(lo).minimum(hi));
}

/** Fixed draws per chunk: per distribution a permutation of its half (T = 1 and T = 5) and a start. */
function chunkDraws(half: number): DistributionDraws[] {
  const rotate = (k: number) => Array.from({ length: half }, (_, i) => (i + k) % half);
  return [
    { permutations: [rotate(1)], startNoise: T.uniform([half, 1, 28, 28], -5e-4, 5e-4) },
    { permutations: [1, 2, 1, 2, 1].map(rotate), startNoise: T.uniform([half, 1, 28, 28], -5e-4, 5e-4) },
  ];
}

/** A criterion whose value and gradient depend on every row and its label, in order. */
function weightedCriterion(weights: Tensor) {
  return {
    compute: (e: Tensor, labels: Tensor) => tidy(() => e.mul(weights).sum(1).mul(labels.to('float32').add(1)).sum()),
  };
}

/** Records the gradients the step computed; steps nothing (the weights stay as they were). */
function recordingOptimizer(params: Map<string, Tensor>) {
  const seen = new Map<string, number[]>();
  return {
    seen,
    zeroGrad: () => {
      for (const t of params.values()) t.grad?.zero_();
    },
    step: () => {
      for (const [name, t] of params) if (t.grad) seen.set(name, t.grad.toNumbers());
    },
  };
}

const maxDiff = (a: number[], b: number[]) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('--bn-replicas', () => {
  it('cuts a batch as nn.DataParallel scatters it: 64 -> 22/22/20, 112 -> 38/38/36', () => {
    const sizes = (b: number, r: number) => replicaChunks(b, r).map(([s, e]) => e - s);
    assert.deepEqual(sizes(64, 3), [22, 22, 20]);
    assert.deepEqual(sizes(112, 3), [38, 38, 36]);
    assert.deepEqual(sizes(16, 3), [6, 6, 4]);
    assert.deepEqual(replicaChunks(16, 3), [[0, 6], [6, 12], [12, 16]]);
    assert.deepEqual(sizes(4, 3), [2, 2], 'too small a batch leaves a replica without rows, as torch.chunk does');
    assert.deepEqual(sizes(64, 1), [64]);
    assert.throws(() => replicaChunks(8, 0), /bnReplicas must be a positive integer/);
  });

  it('one MDProp step over 3 replicas equals the hand-built computation: examples, loss, gradients and running statistics', () => {
    const model = model3();
    try {
      tidy(() => {
        T.manualSeed(7);
        const n = 16;
        const images = T.rand([n, 1, 28, 28]);
        const labels = T.tensor(Array.from({ length: n }, (_, i) => Math.floor(i / 2) % 5), [n], { dtype: 'int64' });
        const chunks = replicaChunks(n, 3);
        const draws = chunks.map(([s, e]) => chunkDraws((e - s) / 2));
        const weights = T.randn([2 * n, 8]);
        const p = tensors(model);
        const before = new Map([...p].map(([k, t]) => [k, noGrad(() => t.clone())]));

        // By hand: every chunk's examples first (the step's starting statistics), then each chunk's segments alone.
        const stats: SegmentStats[][] = [];
        const rows: Tensor[] = [];
        const rowLabels: Tensor[] = [];
        const pieces = chunks.map(([s, e], r) => {
          const x = images.narrow(0, s, e - s);
          const y = labels.narrow(0, s, e - s);
          const half = (e - s) / 2;
          const stax = handAttack(p, 1, x.narrow(0, 0, half), draws[r]![0]!);
          const mtax = handAttack(p, 2, x.narrow(0, half, half), draws[r]![1]!);
          return { x, y, half, stax, mtax };
        });
        for (const { x, y, half, stax, mtax } of pieces) {
          const chunkStats: SegmentStats[] = [];
          const segments = [{ size: 2 * half, branch: 0 }, { size: half, branch: 1 }, { size: half, branch: 2 }];
          rows.push(handForward(p, T.cat([x, stax, mtax], 0), { kind: 'train', segments }, chunkStats));
          rowLabels.push(y, y.narrow(0, 0, half), y.narrow(0, half, half));
          stats.push(chunkStats);
        }
        const criterion = weightedCriterion(weights);
        const wantLoss = criterion.compute(T.cat(rows, 0), T.cat(rowLabels, 0));
        const names = [...model.namedParameters()].map(([name]) => name);
        const params = new Map(model.namedParameters());
        const wantGrads = T.grad(wantLoss, names.map((k) => params.get(k)!));

        const optimizer = recordingOptimizer(params);
        const result = methodStep({ model, method: presetMethod('mdprop', { eps: EPS }), criterion, optimizer, bnReplicas: 3 }, images, labels, draws);

        assert.ok(Math.abs(result.loss - wantLoss.item()) < 1e-4 * Math.max(1, Math.abs(wantLoss.item())), `loss ${result.loss} vs ${wantLoss.item()}`);
        assert.deepEqual(result.samplesPerBranch, [16, 8, 8]);
        // float32 sums in another order: measured against the largest gradient entry of the model
        // (the biases of layers a batch norm follows have gradients of rounding size only).
        const scale = wantGrads.reduce((m, g) => Math.max(m, g!.abs().max().item()), 0);
        names.forEach((name, i) => {
          const d = maxDiff(optimizer.seen.get(name)!, wantGrads[i]!.toNumbers());
          assert.ok(d < 1e-4 * scale, `gradient of ${name}: max abs difference ${d} (largest gradient entry ${scale})`);
        });
        // Running statistics: the first chunk's segments moved them, once; the other chunks' left no trace.
        for (const layer of LAYERS) {
          for (let branch = 0; branch < 3; branch++) {
            const name = bnName(layer, branch);
            const seg = stats[0]!.find((s) => s.layer === layer && s.branch === branch)!;
            const wantMean = before.get(`${name}.running_mean`)!.mul(1 - MOMENTUM).add(seg.mean.mul(MOMENTUM));
            const wantVar = before.get(`${name}.running_var`)!.mul(1 - MOMENTUM).add(seg.unbiasedVar.mul(MOMENTUM));
            assert.ok(maxDiff(p.get(`${name}.running_mean`)!.toNumbers(), wantMean.toNumbers()) < 1e-5, `${name} running mean`);
            assert.ok(maxDiff(p.get(`${name}.running_var`)!.toNumbers(), wantVar.toNumbers()) < 1e-4, `${name} running var`);
            assert.equal(p.get(`${name}.num_batches_tracked`)!.item(), before.get(`${name}.num_batches_tracked`)!.item() + 1, `${name} batches seen`);
          }
        }
      });
    } finally {
      model.dispose();
    }
  });

  it("differs from one replica: the whole batch's statistics move the running ones", () => {
    const model = model3();
    const other = model3();
    try {
      tidy(() => {
        T.manualSeed(7);
        const images = T.rand([16, 1, 28, 28]);
        const labels = T.tensor(Array.from({ length: 16 }, (_, i) => Math.floor(i / 2) % 5), [16], { dtype: 'int64' });
        const criterion = weightedCriterion(T.randn([32, 8]));
        const method = presetMethod('mdprop', { eps: EPS });
        T.manualSeed(1);
        methodStep({ model, method, criterion, optimizer: recordingOptimizer(new Map()), bnReplicas: 3 }, images, labels);
        T.manualSeed(1);
        methodStep({ model: other, method, criterion, optimizer: recordingOptimizer(new Map()) }, images, labels);
        const d = maxDiff(tensors(model).get('bn1.running_mean')!.toNumbers(), tensors(other).get('bn1.running_mean')!.toNumbers());
        assert.ok(d > 1e-4, `running means differ by ${d}`);
      });
    } finally {
      model.dispose();
      other.dispose();
    }
  });
});
