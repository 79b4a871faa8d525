// bfloat16 with autocast's semantics: activations stay bfloat16 from layer to layer, batch norm
// keeps float32 parameters and running statistics, a model's outputs return to float32, the
// gradients of the float32 masters are those of the same computation built by hand through the
// casts, and each weight is cast once until it changes (never a stale copy after an optimizer step).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { featurePgd } from '../../src/adversarial/index.js';
import {
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  createModel,
  Flatten,
  freezeParameters,
  fullPrecision,
  Linear,
  MaxPool2d,
  Module,
  MultiBatchNorm2d,
  ReLU,
  ResidualBlock,
  Sequential,
  convertToMultiBatchNorm,
  setBnRouting,
  setComputeMode,
  type EmbeddingModel,
} from '../../src/nn/index.js';
import { matmulShape } from '../../src/nn/conv-matmul.js';
import { SGD } from '../../src/optim/index.js';
import * as T from '../../src/torch/index.js';
import { F, noGrad, profileOps, tidy, type Tensor } from '../../src/torch/index.js';

const largestGap = (a: Tensor, b: Tensor): number => tidy(() => a.to('float32').sub(b.to('float32')).abs().max().item());

function bf16Model(seed: number, branches = 1): EmbeddingModel {
  T.manualSeed(seed);
  const model = convertToMultiBatchNorm(createModel({ arch: 'resnet-small', embedDim: 8, inChannels: 3 }), branches);
  setComputeMode(model, { precision: 'bf16', memoryFormat: 'channels-last' });
  return model;
}

/** Calls of aten::_to_copy (every dtype cast) made by fn. */
function castsIn(fn: () => void): number {
  const { ops } = profileOps(() => tidy(fn));
  return ops.find((o) => o.name === 'aten::_to_copy')?.calls ?? 0;
}

/** The conv and linear weights and biases of a model: what mixed precision casts. */
function castWeights(model: Module<unknown, unknown>): number {
  return model.namedModules().reduce((n, [, m]) => n + (m instanceof Conv2d || m instanceof Linear ? (m.hasBias ? 2 : 1) : 0), 0);
}

describe('bf16 activations', () => {
  it('stay bfloat16 through every layer; the model returns float32 embeddings, features and projections', () => {
    tidy(() => {
      const model = bf16Model(1, 2);
      const seen = new Map<string, Set<string>>();
      for (const [name, m] of model.namedModules()) {
        if (!(m instanceof Conv2d || m instanceof BatchNorm2d || m instanceof MultiBatchNorm2d || m instanceof ReLU || m instanceof MaxPool2d || m instanceof ResidualBlock || m instanceof Linear || m instanceof AdaptiveAvgPool2d)) continue;
        const forward = m.forward.bind(m);
        m.forward = (x: Tensor) => {
          const y = forward(x);
          const kind = m.constructor.name;
          if (!seen.has(kind)) seen.set(kind, new Set());
          seen.get(kind)!.add(`${y.dtype}${name === 'fc' ? ' (head)' : ''}`);
          return y;
        };
      }
      model.train();
      setBnRouting(model, { kind: 'segments', segments: [{ size: 2, branch: 0 }, { size: 2, branch: 1 }] });
      const out = model.forwardAll(T.randn([4, 3, 16, 16]));
      for (const kind of ['Conv2d', 'MultiBatchNorm2d', 'BatchNorm2d', 'ReLU', 'BasicBlock', 'AdaptiveAvgPool2d']) {
        assert.deepEqual([...(seen.get(kind) ?? [])], ['bfloat16'], `${kind} returned ${[...(seen.get(kind) ?? ['nothing'])].join(', ')}`);
      }
      assert.deepEqual([...seen.get('Linear')!], ['bfloat16 (head)'], 'the head computes in bfloat16');
      assert.equal(out.embedding.dtype, 'float32');
      assert.equal(out.projection.dtype, 'float32');
      assert.equal(out.features.dtype, 'float32');
      model.dispose();
    });
  });

  it('batch norm keeps float32 parameters and running statistics, moved by the bfloat16 batch; each segment moves only its branch', () => {
    tidy(() => {
      T.manualSeed(4);
      const bn = new MultiBatchNorm2d(new BatchNorm2d(3), 2);
      const x = T.randn([6, 3, 4, 4]).mul(2).add(1).to('bfloat16', 'channels_last').setRequiresGrad(true);
      bn.train();
      bn.routing = { kind: 'segments', segments: [{ size: 2, branch: 0 }, { size: 4, branch: 1 }] };
      const y = bn.forward(x);
      assert.equal(y.dtype, 'bfloat16');
      for (const k of [0, 1]) {
        const b = bn.branch(k);
        for (const t of [b.weight!, b.bias!, b.runningMean!, b.runningVar!]) assert.equal(t.dtype, 'float32');
      }
      // Running mean = 0.9 * 0 + 0.1 * the segment's channel means, computed in float32 from the bfloat16 values.
      const rows = [x.narrow(0, 0, 2), x.narrow(0, 2, 4)];
      rows.forEach((part, k) => {
        const mean = part.to('float32').mean([0, 2, 3]).mul(0.1);
        assert.ok(largestGap(bn.branch(k).runningMean!, mean) < 1e-6, `branch ${k}'s running mean is not its segment's`);
      });
      y.to('float32').square().sum().backward();
      assert.equal(bn.branch(1).weight!.grad!.dtype, 'float32');
      assert.equal(x.grad!.dtype, 'bfloat16');
      bn.eval();
      bn.routing = { kind: 'branch', branch: 0 };
      const before = bn.branch(0).runningMean!.toNumbers();
      assert.equal(bn.forward(x.detach()).dtype, 'bfloat16');
      assert.deepEqual(bn.branch(0).runningMean!.toNumbers(), before, 'eval mode moved the running statistics');
      bn.dispose();
    });
  });
});

describe('bf16 convolutions as matrix products', () => {
  const cases: [string, number[], ConstructorParameters<typeof Conv2d>][] = [
    // Every side of each product above 16, as 'auto' requires (see matmulShape).
    ['1x1', [3, 24, 5, 5], [24, 20, 1, { bias: false }]],
    ['1x1 stride 2', [3, 24, 7, 6], [24, 20, 1, { stride: 2, bias: false }]],
    ['3x3 on 2x2', [8, 24, 2, 2], [24, 20, 3, { padding: 1 }]],
    ['3x3 stride 2', [2, 20, 9, 7], [20, 18, 3, { stride: 2, padding: 1 }]],
    ['7x7 stride 2, padding 3 x 2', [2, 3, 12, 10], [3, 20, 7, { stride: 2, padding: [3, 2] }]],
  ];
  for (const [name, shape, args] of cases) {
    it(`give libtorch's convolution up to bfloat16 rounding, forward and backward: ${name}`, () => {
      tidy(() => {
        T.manualSeed(13);
        const conv = new Conv2d(...args);
        setComputeMode(new Sequential(conv), { precision: 'bf16', memoryFormat: 'channels-last' });
        const x = T.randn(shape).to('float32', 'channels_last');
        const g = T.randn([...conv.forward(x).shape]);
        const run = (algorithm: 'convolution' | 'matmul') => {
          conv.algorithm = algorithm;
          conv.zeroGrad();
          const input = x.detach().setRequiresGrad(true);
          const y = conv.forward(input);
          y.to('float32').mul(g).sum().backward();
          return { y, dx: input.grad!, grads: conv.parameters().map((p) => p.grad!) };
        };
        const want = run('convolution');
        const got = run('matmul');
        assert.ok(got.y.isContiguous('channels_last'), 'the product is not returned channels-last');
        assert.deepEqual(got.y.shape, want.y.shape);
        const close = (a: Tensor, b: Tensor, what: string) => {
          const scale = b.abs().max().item();
          assert.ok(largestGap(a, b) <= scale * 2 ** -6, `${what} differs by ${largestGap(a, b)} (scale ${scale})`);
        };
        close(got.y, want.y, 'output');
        close(got.dx, want.dx, 'input gradient');
        got.grads.forEach((d, i) => close(d, want.grads[i]!, `gradient of parameter ${i}`));
        conv.dispose();
      });
    });
  }

  it("'auto' takes them for 1x1 convolutions and for at most 4 output positions, on a CPU with AMX-BF16", () => {
    const g = (kernel: number, stride: number, padding: number) => ({ kernel: [kernel, kernel] as [number, number], stride: [stride, stride] as [number, number], padding: [padding, padding] as [number, number], dilation: [1, 1] as [number, number], groups: 1 });
    assert.equal(matmulShape(g(1, 1, 0), [16, 256, 56, 56], 64), true);
    assert.equal(matmulShape(g(1, 2, 0), [16, 1024, 14, 14], 2048), true, 'onto 7x7');
    assert.equal(matmulShape(g(1, 2, 0), [16, 256, 56, 56], 512), false, 'onto 28x28');
    assert.equal(matmulShape(g(3, 1, 1), [32, 512, 2, 2], 512), true);
    assert.equal(matmulShape(g(3, 2, 1), [32, 256, 4, 4], 512), true);
    assert.equal(matmulShape(g(3, 1, 1), [32, 256, 4, 4], 256), false);
    assert.equal(matmulShape({ ...g(3, 1, 1), groups: 2 }, [32, 512, 2, 2], 512), false);
    assert.equal(matmulShape(g(1, 1, 0), [2, 256, 2, 2], 64), false, 'a product side of 16 or less');
    assert.equal(matmulShape(g(1, 1, 0), [16, 256, 8, 8], 16), false, 'a product side of 16 or less');
  });
});

describe('channels-last masters', () => {
  it('keep the same values and state dict in the new layout, and take their gradients in it', () => {
    tidy(() => {
      T.manualSeed(12);
      const model = createModel({ arch: 'resnet-small', embedDim: 8, inChannels: 3 });
      const before = new Map([...model.stateDict()].map(([k, v]) => [k, v.toFloat32Array()]));
      const conv = model.namedModules().find(([, m]) => m instanceof Conv2d)![1] as Conv2d;
      const weight = conv.weight;
      setComputeMode(model, { precision: 'bf16', memoryFormat: 'channels-last' });
      assert.equal(conv.weight, weight, 'the parameter was replaced, not relaid out');
      assert.ok(weight.isContiguous('channels_last') && !weight.isContiguous());
      for (const [k, v] of model.stateDict()) assert.deepEqual(v.toFloat32Array(), before.get(k), `${k} changed`);
      model.train();
      model.forward(T.randn([2, 3, 12, 12])).sum().backward();
      assert.ok(weight.grad!.isContiguous('channels_last'), 'the gradient is not in the weight layout');
      setComputeMode(model, { precision: 'fp32' });
      assert.ok(weight.isContiguous());
      model.dispose();
    });
  });
});

describe('bf16 gradients', () => {
  it('of the float32 masters equal those of the same computation built by hand through the casts', () => {
    tidy(() => {
      T.manualSeed(6);
      const conv = new Conv2d(3, 4, 3, { padding: 1 });
      const bn = new BatchNorm2d(4);
      noGrad(() => {
        bn.weight!.uniform_(0.5, 1.5);
        bn.bias!.normal_(0, 0.5);
      });
      const net = new Sequential(conv, bn, new ReLU(true), new AdaptiveAvgPool2d(1), new Flatten(), new Linear(4, 5));
      setComputeMode(net, { precision: 'bf16', memoryFormat: 'channels-last' });
      const head = net.at(5) as Linear;
      const x = T.randn([6, 3, 8, 8]);
      const r = T.randn([6, 5]);
      // A forward outside the graph first: its cast copies must not serve the training forwards.
      net.eval();
      noGrad(() => net.forward(x));
      net.train();
      // Twice through one set of cast copies: both backward passes reach the masters.
      for (let i = 0; i < 2; i++) fullPrecision(net.forward(x)).mul(r).sum().backward();

      // By hand: float32 leaves with the same values, cast in the graph at every use.
      const leaf = (t: Tensor) => t.detach().clone().setRequiresGrad(true);
      const [w, b, gamma, beta, wl, bl] = [conv.weight, conv.bias!, bn.weight!, bn.bias!, head.weight, head.bias!].map(leaf) as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
      const [mean, variance] = [T.zeros([4]), T.ones([4])];
      for (let i = 0; i < 2; i++) {
        let h = F.conv2d(x.to('bfloat16', 'channels_last'), w.to('bfloat16', 'channels_last'), b.to('bfloat16'), { padding: 1 });
        h = F.batchNorm(h, mean, variance, gamma, beta, { training: true });
        h = F.adaptiveAvgPool2d(h.relu(), 1).flatten(1);
        F.linear(h, wl.to('bfloat16'), bl.to('bfloat16')).to('float32').mul(r).sum().backward();
      }
      const pairs: [string, Tensor, Tensor][] = [
        ['conv.weight', conv.weight, w],
        ['conv.bias', conv.bias!, b],
        ['bn.weight', bn.weight!, gamma],
        ['bn.bias', bn.bias!, beta],
        ['fc.weight', head.weight, wl],
        ['fc.bias', head.bias!, bl],
      ];
      for (const [name, master, byHand] of pairs) {
        assert.equal(master.grad!.dtype, 'float32', `${name}'s gradient is not float32`);
        const scale = byHand.grad!.abs().max().item();
        assert.ok(scale > 0, `${name} got no gradient by hand`);
        assert.ok(largestGap(master.grad!, byHand.grad!) <= scale * 2 ** -7, `${name}: gradient differs from the hand-built one by ${largestGap(master.grad!, byHand.grad!)} (scale ${scale})`);
      }
      assert.ok(largestGap(bn.runningMean!, mean) < 1e-6, 'running means differ from the hand-built ones');

      // And the float32 network's gradients differ from them: the bfloat16 computation really ran.
      const exact = leaf(conv.weight);
      let h = F.conv2d(x, exact, conv.bias!.detach(), { padding: 1 });
      h = F.batchNorm(h, T.zeros([4]), T.ones([4]), bn.weight!.detach(), bn.bias!.detach(), { training: true });
      F.linear(F.adaptiveAvgPool2d(h.relu(), 1).flatten(1), head.weight.detach(), head.bias!.detach()).mul(r).sum().mul(2).backward();
      assert.ok(largestGap(exact.grad!, w.grad!) > 0, 'the bf16 gradient equals the float32 one exactly');
      net.dispose();
    });
  });
});

describe('weight casts', () => {
  it('are made once until the weights change: an optimizer step, a graph forward after frozen ones', () => {
    tidy(() => {
      const model = bf16Model(2);
      const weights = castWeights(model);
      // bfloat16 channels-last images: what a forward casts besides weights is its activations' work (pooling, the float32 outputs).
      const images = T.randn([2, 3, 12, 12]).to('bfloat16', 'channels_last');
      const forward = () => void model.forwardAll(images);
      const optimizer = new SGD(model.parameters(), { lr: 0.1 });
      const step = () => {
        model.forward(images).sum().backward();
        optimizer.step();
      };
      model.eval();
      assert.equal(castsIn(() => noGrad(forward)) > weights, true, 'the first forward casts every weight');
      step();
      let thaw = (): void => {};
      assert.equal(castsIn(() => (thaw = freezeParameters(model))), weights, 'freezing casts every weight used before into the graph, once');
      const activations = castsIn(forward);
      assert.ok(activations < weights, `a frozen forward cast ${activations} tensors: it cast weights again`);
      thaw();
      assert.equal(castsIn(forward), activations, 'the training forward did not reuse the prepared casts');
      assert.equal(castsIn(() => noGrad(forward)), activations);

      step();
      assert.equal(castsIn(forward), weights + activations, 'the step changed every weight: each must be cast anew, once');
      assert.equal(castsIn(forward), activations);
      // A cast made outside the graph cannot serve a forward that trains: that one casts again, once.
      noGrad(() => model.parameters()[0]!.add_(0));
      assert.equal(castsIn(() => noGrad(forward)), 1 + activations);
      assert.equal(castsIn(forward), 1 + activations);
      optimizer.dispose();
      model.dispose();
    });
  });

  it('never serve a stale copy: after an optimizer step the output is that of the new weights', () => {
    tidy(() => {
      const model = bf16Model(3);
      const images = T.randn([4, 3, 12, 12]);
      model.eval();
      const before = model.forward(images);
      const optimizer = new SGD(model.parameters(), { lr: 0.5 });
      model.forward(images).mul(T.randn([4, 8])).sum().backward();
      optimizer.step();
      const after = model.forward(images);
      // A fresh model with the stepped weights has no copies to go stale.
      const fresh = bf16Model(99);
      fresh.loadStateDict(model.stateDict());
      fresh.eval();
      assert.equal(largestGap(after, fresh.forward(images)), 0, 'the stepped model does not compute with its new weights');
      assert.ok(largestGap(after, before) > 1e-3, 'the step did not change the output');
      // Loading weights is a change too.
      model.loadStateDict(bf16Model(5).stateDict());
      const loaded = bf16Model(5);
      loaded.eval();
      assert.equal(largestGap(model.forward(images), loaded.forward(images)), 0, 'a state-dict load left a stale copy in use');
      for (const m of [model, fresh, loaded]) m.dispose();
      optimizer.dispose();
    });
  });

  it('are freed with the model and when the precision changes', () => {
    const live = T.liveTensors();
    tidy(() => {
      const model = bf16Model(7);
      noGrad(() => model.forward(T.randn([2, 3, 12, 12])));
      assert.ok(T.liveTensors() > live);
      setComputeMode(model, { precision: 'fp32' });
      model.dispose();
    });
    assert.equal(T.liveTensors(), live);
  });
});

describe('bf16 attacks', () => {
  it('run through the bfloat16 layers with float32 images inside a float32 box', () => {
    tidy(() => {
      const model = bf16Model(8);
      model.eval();
      const images = T.randn([4, 3, 12, 12]);
      const thaw = freezeParameters(model);
      const embed = (x: Tensor) => model.forward(x);
      const clean = noGrad(() => embed(images));
      const adversarial = featurePgd(embed, images, { kind: 'untargeted', clean }, { eps: 0.05, iters: 3, range: { kind: 'fixed', min: -10, max: 10 } });
      thaw();
      assert.equal(adversarial.dtype, 'float32');
      const moved = largestGap(adversarial, images);
      assert.ok(moved > 0.04 && moved <= 0.05 + 1e-6, `the attack moved the images by ${moved}, not up to eps`);
      assert.ok(model.parameters().every((p) => p.grad === null), 'the attack left gradients on the weights');
      assert.ok(largestGap(noGrad(() => embed(adversarial)), clean) > 0, 'the attack did not move the embeddings');
      model.dispose();
    });
  });
});
