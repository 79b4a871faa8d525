// The experiment's progress in training steps: the first epoch of the first run sets the estimate
// of a run, finished runs count what they took, and the total never falls below what is done, so
// a bar ends at 100% with no negative ETA when epochs take a step more than the first one did.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StepCount } from '../../src/experiment/run.js';
import { rateAndEta } from '../../src/cli/progress.js';

test('progress: done never passes total, and the last report is 100%', () => {
  const reports: { done: number; total: number }[] = [];
  const steps = new StepCount(3, 2, (p) => reports.push({ done: p.done, total: p.total }));
  // Each run: two epochs, the first of 5 steps, the second of 6 (one more than the estimate).
  for (let run = 0; run < 3; run++) {
    const control = steps.control(`run ${run}`);
    for (const epochSteps of [5, 6]) {
      const bar = control.progress!(`epoch`, 5, 'step');
      for (let i = 0; i < epochSteps; i++) bar.tick();
      bar.stop();
    }
    steps.finished(11, `run ${run}: evaluating`);
  }
  steps.report('done');
  assert.equal(reports[0]!.total, 30, 'the estimate before anything finished: 5 steps x 2 epochs x 3 runs');
  for (const r of reports) assert.ok(r.done <= r.total, `${r.done} of ${r.total}`);
  const last = reports.at(-1)!;
  assert.deepEqual(last, { done: 33, total: 33 });
  // After the first run finished, the estimate is what that run took.
  const afterFirst = reports.filter((r) => r.done === 11).at(-1)!;
  assert.equal(afterFirst.total, 33);
});

test('progress: runs found finished count as done but not as done here, so a resumed rate stays true', () => {
  const reports: { done: number; doneHere: number }[] = [];
  const steps = new StepCount(2, 1, (p) => reports.push({ done: p.done, doneHere: p.doneHere }));
  steps.finished(10, 'run 0: evaluating'); // found finished by an earlier call: no ticks here
  const control = steps.control('run 1');
  const bar = control.progress!('epoch', 10, 'step');
  for (let i = 0; i < 4; i++) bar.tick();
  assert.deepEqual(reports.at(-1), { done: 14, doneHere: 4 });
  steps.finished(10, 'run 1: evaluating');
  assert.deepEqual(reports.at(-1), { done: 20, doneHere: 4 });
});

test('rate and ETA: only the work done here counts; no rate yet means no ETA', () => {
  // 991 steps found done, 10 trained here in 5 s: 2 steps/s, and 7,918 steps left take 3,959 s.
  assert.deepEqual(rateAndEta(1001, 8919, 10, 5), { rate: 2, eta: 3959 });
  assert.deepEqual(rateAndEta(991, 8919, 0, 0.01), { rate: 0, eta: null });
  assert.deepEqual(rateAndEta(50, 50, 0, 1), { rate: 0, eta: 0 });
  // Past the estimated total (an epoch a step longer), the ETA stays at zero, never negative.
  assert.equal(rateAndEta(52, 50, 52, 1).eta, 0);
});
