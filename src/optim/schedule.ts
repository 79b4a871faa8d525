// Learning-rate schedules. A Schedule is a closed-form function of the epoch, so a scheduler's
// whole state is its epoch counter and the base rates: resuming a run needs nothing else.
// An LrScheduler applies one schedule to every parameter group of an optimizer.

/** The learning rate as a function of the epoch and a group's base learning rate. */
export interface Schedule {
  /** Rate for `epoch` (0 = before the first scheduler.step()), from the group's base rate. */
  lrAt(epoch: number, baseLr: number): number;
}

/** What a scheduler drives: anything with parameter groups that have a learning rate. */
export interface LrGroups {
  readonly groups: readonly { lr: number }[];
}

/** A scheduler's checkpoint: plain JSON. */
export interface SchedulerState {
  epoch: number;
  baseLrs: number[];
}

export class LrScheduler {
  #baseLrs: number[];
  #epoch = 0;

  /** Takes each group's current lr as its base rate and sets the epoch-0 rate at once. */
  constructor(
    readonly optimizer: LrGroups,
    readonly schedule: Schedule,
  ) {
    this.#baseLrs = optimizer.groups.map((g) => g.lr);
    this.#apply();
  }

  /** Each group's learning rate when the scheduler was made: the schedule scales these. */
  get baseLrs(): readonly number[] {
    return this.#baseLrs;
  }

  get epoch(): number {
    return this.#epoch;
  }

  /** Advance one epoch (call after the epoch's optimizer steps) and set every group's lr. */
  step(): void {
    this.#epoch += 1;
    this.#apply();
  }

  stateDict(): SchedulerState {
    return { epoch: this.#epoch, baseLrs: [...this.#baseLrs] };
  }

  /** Restore the epoch and base rates, and set every group's lr for that epoch. */
  loadStateDict(state: SchedulerState): void {
    if (!Number.isInteger(state.epoch) || state.epoch < 0) throw new RangeError(`scheduler: bad saved epoch ${String(state.epoch)}`);
    const groups = this.optimizer.groups.length;
    if (!Array.isArray(state.baseLrs) || state.baseLrs.length !== groups) {
      throw new Error(`scheduler: the saved state has ${Array.isArray(state.baseLrs) ? state.baseLrs.length : 'no'} base rates, the optimizer has ${groups} groups`);
    }
    if (state.baseLrs.some((lr) => typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0)) {
      throw new RangeError(`scheduler: bad saved base rates ${JSON.stringify(state.baseLrs)}`);
    }
    this.#baseLrs = [...state.baseLrs];
    this.#epoch = state.epoch;
    this.#apply();
  }

  #apply(): void {
    this.optimizer.groups.forEach((group, i) => {
      group.lr = this.schedule.lrAt(this.#epoch, this.#baseLrs[i]!);
    });
  }
}

export function checkPositiveInteger(value: number, name: string, where: string): void {
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${where}: ${name} must be a positive integer, got ${String(value)}`);
}

export function checkGamma(gamma: number, where: string): void {
  if (typeof gamma !== 'number' || !Number.isFinite(gamma) || gamma <= 0) throw new RangeError(`${where}: gamma must be a finite number > 0, got ${String(gamma)}`);
}
