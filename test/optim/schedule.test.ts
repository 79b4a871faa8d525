// Learning-rate schedules: their sequences against hand-computed values, composition with the
// warm-up, per-group base rates, and saved state.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cosineAnnealing, linearWarmup, LrScheduler, multiStepLr, SGD, stepLr, type Schedule } from '../../src/optim/index.js';
import { dispose, tensor } from '../../src/torch/index.js';

/** Rates for epochs 0..epochs-1 of one group starting at `base`, through an LrScheduler. */
function sequence(schedule: Schedule, base: number, epochs: number): number[] {
  const groups = [{ lr: base }];
  const scheduler = new LrScheduler({ groups }, schedule);
  const out = [groups[0]!.lr];
  for (let e = 1; e < epochs; e++) {
    scheduler.step();
    out.push(groups[0]!.lr);
  }
  return out;
}

function assertSequence(actual: number[], expected: number[]): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-12, `epoch ${i}: ${v}, expected ${expected[i]}`));
}

// cos(pi/4) = sqrt(2)/2, so (1 + cos(pi/4)) / 2 = 0.8535533905932737 and (1 - cos(pi/4)) / 2 = 0.1464466094067262.
const HIGH = 0.8535533905932737;
const LOW = 0.1464466094067262;

describe('schedules', () => {
  it('step: gamma every stepSize epochs', () => {
    assertSequence(sequence(stepLr({ stepSize: 2, gamma: 0.5 }), 1, 7), [1, 1, 0.5, 0.5, 0.25, 0.25, 0.125]);
    assertSequence(sequence(stepLr({ stepSize: 3 }), 0.1, 7), [0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001]);
  });

  it('multi-step: gamma at each milestone', () => {
    assertSequence(sequence(multiStepLr({ milestones: [5, 2], gamma: 0.1 }), 0.1, 7), [0.1, 0.1, 0.01, 0.01, 0.01, 0.001, 0.001]);
    // A milestone listed twice drops the rate twice.
    assertSequence(sequence(multiStepLr({ milestones: [1, 1], gamma: 0.5 }), 1, 3), [1, 0.25, 0.25]);
  });

  it('cosine annealing: from base to etaMin over tMax, then back up', () => {
    assertSequence(sequence(cosineAnnealing({ tMax: 4 }), 1, 7), [1, HIGH, 0.5, LOW, 0, LOW, 0.5]);
    // With etaMin 0.1 and base 0.5: 0.1 + 0.4 * (1 + cos(pi e / 2)) / 2.
    assertSequence(sequence(cosineAnnealing({ tMax: 2, etaMin: 0.1 }), 0.5, 3), [0.5, 0.3, 0.1]);
  });

  it('linear warm-up alone, then the base rate', () => {
    assertSequence(sequence(linearWarmup({ epochs: 4, startFactor: 0.2 }), 1, 6), [0.2, 0.4, 0.6, 0.8, 1, 1]);
  });

  it('linear warm-up composed with cosine annealing and with step decay', () => {
    const warmCosine = linearWarmup({ epochs: 3, startFactor: 0.25, then: cosineAnnealing({ tMax: 4 }) });
    assertSequence(sequence(warmCosine, 0.4, 8), [0.1, 0.2, 0.3, 0.4, 0.4 * HIGH, 0.2, 0.4 * LOW, 0]);
    const warmStep = linearWarmup({ epochs: 2, startFactor: 0.5, then: stepLr({ stepSize: 2, gamma: 0.1 }) });
    assertSequence(sequence(warmStep, 1, 7), [0.5, 0.75, 1, 1, 0.1, 0.1, 0.01]);
  });

  it('scales each parameter group from its own base rate, and sets epoch 0 at once', () => {
    const a = tensor([1]).setRequiresGrad(true);
    const b = tensor([2]).setRequiresGrad(true);
    const opt = new SGD([{ params: [a], lr: 0.1 }, { params: [b], lr: 0.02 }]);
    const scheduler = new LrScheduler(opt, linearWarmup({ epochs: 2, startFactor: 0.5, then: stepLr({ stepSize: 1, gamma: 0.5 }) }));
    assertSequence(opt.lrs, [0.05, 0.01]);
    assert.deepEqual(scheduler.baseLrs, [0.1, 0.02]);
    scheduler.step();
    assertSequence(opt.lrs, [0.075, 0.015]);
    scheduler.step();
    assertSequence(opt.lrs, [0.1, 0.02]);
    scheduler.step();
    assertSequence(opt.lrs, [0.05, 0.01]);
    assert.equal(scheduler.epoch, 3);
    dispose([a, b]);
  });

  it('state round-trips through JSON and resumes the same sequence', () => {
    const schedule = linearWarmup({ epochs: 2, then: cosineAnnealing({ tMax: 5, etaMin: 1e-4 }) });
    const groups = [{ lr: 0.3 }, { lr: 0.01 }];
    const first = new LrScheduler({ groups }, schedule);
    for (let e = 0; e < 4; e++) first.step();
    const saved = JSON.parse(JSON.stringify(first.stateDict())) as ReturnType<LrScheduler['stateDict']>;
    assert.deepEqual(saved, { epoch: 4, baseLrs: [0.3, 0.01] });

    // A resumed run builds its optimizer afresh (lr = base), then loads the scheduler.
    const resumedGroups = [{ lr: 0.3 }, { lr: 0.01 }];
    const resumed = new LrScheduler({ groups: resumedGroups }, schedule);
    resumed.loadStateDict(saved);
    assert.deepEqual(resumedGroups, groups);
    for (let e = 0; e < 3; e++) {
      first.step();
      resumed.step();
      assert.deepEqual(resumedGroups, groups);
    }
    assert.throws(() => resumed.loadStateDict({ epoch: 1, baseLrs: [0.1] }), /1 base rates, the optimizer has 2 groups/);
    assert.throws(() => resumed.loadStateDict({ epoch: -1, baseLrs: [0.1, 0.1] }), /bad saved epoch/);
  });

  it('rejects bad options', () => {
    assert.throws(() => stepLr({ stepSize: 0 }), /stepSize must be a positive integer/);
    assert.throws(() => stepLr({ stepSize: 2, gamma: 0 }), /gamma must be/);
    assert.throws(() => multiStepLr({ milestones: [1.5] }), /milestones must be non-negative integers/);
    assert.throws(() => cosineAnnealing({ tMax: 0 }), /tMax must be a positive integer/);
    assert.throws(() => cosineAnnealing({ tMax: 3, etaMin: -1 }), /etaMin/);
    assert.throws(() => linearWarmup({ epochs: 3, startFactor: 0 }), /startFactor must be in \(0, 1\]/);
  });
});
