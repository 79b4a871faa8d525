// Checkpointing: optimizer state saved to safetensors + JSON and loaded into a fresh optimizer
// continues bit-exactly like the uninterrupted run; mismatched state is refused clearly.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  Adam,
  AdamW,
  cosineAnnealing,
  linearWarmup,
  LrScheduler,
  SGD,
  type AnyOptimizer,
  type OptimizerStateMeta,
  type SchedulerState,
} from '../../src/optim/index.js';
import { dispose, noGrad, readSafetensors, tensor, writeSafetensors, type Tensor } from '../../src/torch/index.js';
import { backwardOn, makeParams } from './quadratic.js';

type Build = (params: Tensor[]) => AnyOptimizer;

const builds: Record<string, Build> = {
  'SGD with nesterov momentum': (p) =>
    new SGD([{ params: [p[0]!], lr: 0.05 }, { params: [p[1]!], weightDecay: 0.01 }], { lr: 0.1, momentum: 0.9, nesterov: true }),
  'Adam with amsgrad': (p) => new Adam([{ params: [p[0]!] }, { params: [p[1]!], lr: 0.02, weightDecay: 0.1 }], { lr: 0.05, amsgrad: true }),
  AdamW: (p) => new AdamW([{ params: [p[0]!], weightDecay: 0.2 }, { params: [p[1]!] }], { lr: 0.05, betas: [0.8, 0.99] }),
};

function scheduled(opt: AnyOptimizer): LrScheduler {
  return new LrScheduler(opt, linearWarmup({ epochs: 2, startFactor: 0.3, then: cosineAnnealing({ tMax: 6, etaMin: 1e-3 }) }));
}

function train(opt: AnyOptimizer, scheduler: LrScheduler, params: Tensor[], steps: number): void {
  for (let s = 0; s < steps; s++) {
    opt.zeroGrad();
    backwardOn(params);
    opt.step();
    scheduler.step();
  }
}

function rawValues(params: readonly Tensor[]): Float32Array[] {
  return params.map((p) => p.data() as Float32Array);
}

interface SavedJson {
  optimizer: OptimizerStateMeta;
  scheduler: SchedulerState;
}

describe('optimizer state', () => {
  for (const [name, build] of Object.entries(builds)) {
    it(`${name}: save, load into a fresh optimizer, continue = uninterrupted run, bit for bit`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'mdprop-optim-'));
      try {
        // The uninterrupted run.
        const straightParams = makeParams(undefined, 'float32');
        const straight = build(straightParams);
        const straightScheduler = scheduled(straight);
        train(straight, straightScheduler, straightParams, 7);

        // A run that checkpoints after 3 steps, to disk, as a trainer would.
        const firstParams = makeParams(undefined, 'float32');
        const first = build(firstParams);
        const firstScheduler = scheduled(first);
        train(first, firstScheduler, firstParams, 3);
        const { tensors, meta } = first.stateDict();
        firstParams.forEach((p, i) => tensors.set(`param.${i}`, p.detach()));
        writeSafetensors(join(dir, 'optim.safetensors'), tensors, {});
        const json: SavedJson = { optimizer: meta, scheduler: firstScheduler.stateDict() };
        writeFileSync(join(dir, 'optim.json'), JSON.stringify(json));
        dispose(tensors);
        first.dispose();
        dispose(firstParams);

        // Resume in a fresh "process": new parameters, optimizer and scheduler, then load.
        const params = makeParams(undefined, 'float32');
        const resumed = build(params);
        const resumedScheduler = scheduled(resumed);
        const file = readSafetensors(join(dir, 'optim.safetensors'));
        const saved = JSON.parse(readFileSync(join(dir, 'optim.json'), 'utf8')) as SavedJson;
        noGrad(() => params.forEach((p, i) => p.copy_(file.tensors.get(`param.${i}`)!)));
        const optimizerTensors = new Map([...file.tensors].filter(([key]) => key.startsWith('state.')));
        resumed.loadStateDict({ tensors: optimizerTensors, meta: saved.optimizer });
        resumedScheduler.loadStateDict(saved.scheduler);
        dispose(file.tensors);
        train(resumed, resumedScheduler, params, 4);

        assert.deepEqual(rawValues(params), rawValues(straightParams));
        assert.deepEqual(resumed.lrs, straight.lrs);
        const a = resumed.stateDict();
        const b = straight.stateDict();
        assert.deepEqual(a.meta, b.meta);
        assert.deepEqual([...a.tensors.keys()], [...b.tensors.keys()]);
        for (const [key, t] of a.tensors) assert.deepEqual(t.data(), b.tensors.get(key)!.data(), key);
        dispose([a.tensors, b.tensors]);
        resumed.dispose();
        straight.dispose();
        dispose([params, straightParams]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('state names and meta describe every parameter; hyperparameters are restored', () => {
    const params = makeParams();
    const opt = new Adam([{ params: [params[0]!], name: 'body' }, { params: [params[1]!], lr: 0.01 }], { lr: 0.1, amsgrad: true });
    backwardOn(params);
    opt.step();
    opt.groups[0]!.lr = 0.123;
    const { tensors, meta } = opt.stateDict();
    assert.deepEqual([...tensors.keys()].sort(), [
      'state.0.exp_avg',
      'state.0.exp_avg_sq',
      'state.0.max_exp_avg_sq',
      'state.1.exp_avg',
      'state.1.exp_avg_sq',
      'state.1.max_exp_avg_sq',
    ]);
    assert.deepEqual(JSON.parse(JSON.stringify(meta)), meta);
    assert.equal(meta.optimizer, 'adam');
    assert.deepEqual(meta.groups[0], {
      name: 'body',
      size: 1,
      hyper: { lr: 0.123, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: true },
    });
    assert.deepEqual(meta.params[1], { shape: [3], step: 1, buffers: ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] });

    const other = makeParams();
    const fresh = new Adam([{ params: [other[0]!] }, { params: [other[1]!] }], { lr: 0.5 });
    fresh.loadStateDict({ tensors, meta });
    assert.deepEqual(fresh.lrs, [0.123, 0.01]);
    assert.equal(fresh.groups[0]!.name, 'body');
    assert.equal(fresh.groups[1]!.amsgrad, true);
    // The loaded state is a copy: freeing the source leaves it intact.
    const expected = tensors.get('state.1.exp_avg')!.toNumbers();
    dispose(tensors);
    const again = fresh.stateDict();
    assert.deepEqual(again.tensors.get('state.1.exp_avg')!.toNumbers(), expected);
    dispose(again.tensors);
    fresh.dispose();
    opt.dispose();
    dispose([params, other]);
  });

  it('refuses state that does not fit, and changes nothing when it does', () => {
    const params = makeParams();
    const opt = new SGD([{ params: [params[0]!] }, { params: [params[1]!] }], { lr: 0.1, momentum: 0.9 });
    backwardOn(params);
    opt.step();
    const saved = opt.stateDict();
    const extra = tensor([1, 2, 3], [3], { dtype: 'float64' }).setRequiresGrad(true);
    const small = tensor([1, 2], [2], { dtype: 'float64' }).setRequiresGrad(true);

    const target = new SGD([{ params: [params[0]!] }, { params: [params[1]!] }], { lr: 0.1, momentum: 0.9 });
    const before = target.stateDict();
    const cases: [() => void, RegExp][] = [
      [() => new Adam([{ params: [params[0]!] }, { params: [params[1]!] }]).loadStateDict(saved), /belongs to a 'sgd' optimizer/],
      [() => new SGD(params).loadStateDict(saved), /has 2 parameter groups, this optimizer has 1/],
      [
        () => new SGD([{ params: [params[0]!] }, { params: [params[1]!, extra] }]).loadStateDict(saved),
        /saved group 'group1' has 1 parameters, this one has 2/,
      ],
      [() => new SGD([{ params: [params[0]!] }, { params: [small] }]).loadStateDict(saved), /parameter 1 has shape \[2\], the saved state has \[3\]/],
      [() => target.loadStateDict({ tensors: new Map([...saved.tensors].slice(1)), meta: saved.meta }), /lacks tensor 'state.0.momentum_buffer'/],
      [
        () => target.loadStateDict({ tensors: new Map([...saved.tensors, ['state.9.foo', extra]]), meta: saved.meta }),
        /unexpected tensor 'state.9.foo'/,
      ],
      [
        () => target.loadStateDict({ tensors: new Map([...saved.tensors, ['state.1.momentum_buffer', small]]), meta: saved.meta }),
        /tensor 'state.1.momentum_buffer' has shape \[2\], parameter 1 has \[3\]/,
      ],
      [
        () =>
          target.loadStateDict({
            tensors: saved.tensors,
            meta: { ...saved.meta, groups: saved.meta.groups.map((g) => ({ ...g, hyper: { ...g.hyper, nesterov: 1 } })) },
          }),
        /saved hyperparameter 'nesterov' = 1 does not fit false/,
      ],
      [
        () => target.loadStateDict({ tensors: saved.tensors, meta: JSON.parse('{"format":"mdprop.optim/1","optimizer":"sgd","groups":[]}') as OptimizerStateMeta }),
        /malformed: meta lacks the 'groups' or 'params' array/,
      ],
      [
        () => target.loadStateDict({ tensors: saved.tensors, meta: { ...saved.meta, params: [{ shape: [2, 3], step: 1 }] } as unknown as OptimizerStateMeta }),
        /malformed: parameter 0 lacks shape, step or buffer names/,
      ],
    ];
    for (const [load, message] of cases) assert.throws(load, message);
    const after = target.stateDict();
    assert.deepEqual(after.meta, before.meta);
    assert.equal(after.tensors.size, 0);
    dispose([saved.tensors, before.tensors, after.tensors, extra, small]);
    target.dispose();
    opt.dispose();
    dispose(params);
  });
});
