// The training loop: epochs of class-balanced batches, one method step per batch, evaluation every
// --eval-every epochs and after the last, the best weights and a checkpoint after every epoch.
// Stops cleanly on request (Ctrl-C: after the current step, with a checkpoint) and on a NaN or
// infinite loss (without stepping, keeping the last good checkpoint).
import { mkdirSync } from 'node:fs';
import { DataLoader, DATASETS, hashLabels, restoreSampler, type Batch, type BatchSampler } from '../data/index.js';
import { evaluateModel } from '../evaluate/index.js';
import { methodName, RunDirectory, type RunSummary } from '../formats/index.js';
import { freshDefenseMemory, methodStep, NonFiniteLossError, replicaChunks, type StepResult, type StepSync } from '../methods/index.js';
import { setBatchStatsSync } from '../nn/index.js';
import { SINGLE_PROCESS, ShardedSampler, type Parallelism } from '../parallel/index.js';
import { manualSeed, setNumThreads, tensor, tidy } from '../torch/index.js';
import { disposeCheckpoint, findCheckpoint, loadCheckpoint, saveCheckpoint, type EpochProgress, type TrainerState } from './checkpoint.js';
import { ConfigError, setting, type TrainConfig } from './config.js';
import { finiteGuard } from './finite-guard.js';
import { lockRun, type RunLock } from './run-lock.js';
import { stepSeed } from './seeding.js';
import { buildParts, disposeParts, methodOf, openTrainingData, trainSampler, type TrainingData, type TrainingParts } from './setup.js';
import { buildSummary, modelRecord } from './summary.js';
import { restoreCheckpoint, withCheckpoint, writeRunModel } from './weights.js';

export interface ProgressReporter {
  tick(n?: number, info?: string): void;
  stop(): void;
}

export interface TrainerHooks {
  /** One line of the run's log (the CLI writes it to stderr). */
  log?(line: string): void;
  /** A progress display for `total` units of work. */
  progress?(label: string, total: number, unit: string): ProgressReporter;
}

/** Training stopped on request; the checkpoint holds the state after the last finished step. */
export class TrainingInterrupted extends Error {
  override name = 'TrainingInterrupted';
  constructor(
    readonly runDir: string,
    readonly epoch: number,
    readonly stepInEpoch: number,
  ) {
    super(`training interrupted at epoch ${epoch}, step ${stepInEpoch}; checkpoint written to ${runDir}/checkpoint`);
  }
}

/** The loss became NaN or infinite: the run stopped without applying that step. Its message names settings as ConfigError does. */
export class TrainingDiverged extends ConfigError {
  override name = 'TrainingDiverged';
}

const silentProgress: ProgressReporter = { tick() {}, stop() {} };

export class Trainer {
  #stopRequested = false;
  /** The step and the time of the last checkpoint, for --checkpoint-every. */
  #checkpointStep = 0;
  #checkpointTime = performance.now();
  /** Where the checkpoint on disk stands, for messages. */
  #checkpointAt = 'at the start';
  /** HM's gradual adversary reads the last step's loss; a resumed run starts it afresh. */
  readonly #defenseMemory = freshDefenseMemory();
  /** Gathering and gradient reduction of a data-parallel run; undefined alone. */
  readonly #sync: StepSync | undefined;

  private constructor(
    readonly config: TrainConfig,
    readonly run: RunDirectory,
    private readonly data: TrainingData,
    private readonly parts: TrainingParts,
    private state: TrainerState,
    private readonly hooks: TrainerHooks,
    private readonly lock: RunLock,
    private readonly parallel: Parallelism,
  ) {
    this.#checkpointStep = state.step;
    this.#sync = parallel.stepSync(parts.model.parameters(), parts.criterion.parameters());
    // Synchronised BN: every rank's batch norms take their training statistics over all ranks.
    const statsSync = config.syncBn ? parallel.batchStatsSync() : undefined;
    if (statsSync) setBatchStatsSync(parts.model, statsSync);
  }

  /** The device this process computes on (cuda:<local rank> for a worker of a multi-GPU run). */
  private get device(): string {
    return this.parallel.deviceFor(this.config.device);
  }

  /**
   * A new run in config.out. A folder that holds a run with progress (a checkpoint, a model) is
   * refused; one whose start was killed before its first checkpoint is taken over. Writes
   * config.json and an initial checkpoint, holding the run's lock from before the first write.
   */
  static async start(config: TrainConfig, hooks: TrainerHooks = {}, parallel: Parallelism = SINGLE_PROCESS): Promise<Trainer> {
    // Only rank 0 writes the run; the other ranks of a data-parallel run neither check nor lock it.
    if (!parallel.writes) return Trainer.fresh(config, hooks, parallel, () => FOLLOWER_LOCK);
    checkFree(config.out);
    return Trainer.fresh(config, hooks, parallel, () => {
      const lock = lockRun(config.out, (line) => hooks.log?.(line));
      try {
        checkFree(config.out); // again, now that no one else can be writing it
      } catch (err) {
        lock.release();
        throw err;
      }
      if (RunDirectory.holdsRun(config.out)) hooks.log?.(`${config.out} holds a run stopped before its first checkpoint; starting it afresh`);
      return lock;
    });
  }

  private static async fresh(given: TrainConfig, hooks: TrainerHooks, parallel: Parallelism, takeLock: () => RunLock): Promise<Trainer> {
    const config = { ...given, worldSize: parallel.worldSize };
    checkShards(config);
    setNumThreads(config.threads);
    const data = await openTrainingData(config);
    const parts = buildParts({ ...config, device: parallel.deviceFor(config.device) }, data.train.numClasses);
    let lock: RunLock | undefined;
    try {
      broadcastParts(parallel, parts);
      const run = new RunDirectory(config.out);
      if (parallel.writes) mkdirSync(config.out, { recursive: true });
      lock = takeLock();
      if (parallel.writes) {
        run.removeTemporaries();
        run.writeConfig(config);
        run.truncateMetrics(0);
      }
      const sampler = trainSampler(config, data.train.labels);
      const state: TrainerState = {
        epoch: 0,
        step: 0,
        sampler: sampler.state(),
        scheduler: parts.scheduler.stateDict(),
        partialEpoch: null,
        best: null,
        lastEval: null,
        trainSeconds: 0,
        evalSeconds: 0,
        samplesPerBranch: new Array<number>(parts.method.branches).fill(0),
        metricsBytes: 0,
      };
      const trainer = new Trainer(config, run, data, parts, state, hooks, lock, parallel);
      trainer.saveCheckpoint();
      for (const note of [...data.warnings, ...parts.notes]) trainer.log(note);
      return trainer;
    } catch (err) {
      lock?.release();
      disposeParts(parts);
      throw err;
    }
  }

  /**
   * Continues the run in config.out from its checkpoint (config from resolveResumeConfig), or from
   * its beginning when it was stopped before the first checkpoint.
   */
  static async resume(config: TrainConfig, hooks: TrainerHooks = {}, parallel: Parallelism = SINGLE_PROCESS): Promise<Trainer> {
    const lock = parallel.writes ? lockRun(config.out, (line) => hooks.log?.(line)) : FOLLOWER_LOCK;
    try {
      if (findCheckpoint(config.out) === null) {
        hooks.log?.(`${config.out} was stopped before its first checkpoint; starting it from the beginning`);
        return await Trainer.fresh(config, hooks, parallel, () => lock);
      }
      return await Trainer.continue(config, hooks, lock, parallel);
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  private static async continue(given: TrainConfig, hooks: TrainerHooks, lock: RunLock, parallel: Parallelism): Promise<Trainer> {
    // The checkpoint holds the global sampler and rank 0's state: any number of ranks can go on from it.
    const config = { ...given, worldSize: parallel.worldSize };
    checkShards(config);
    setNumThreads(config.threads);
    const run = new RunDirectory(config.out);
    const checkpoint = loadCheckpoint(config.out);
    let data: TrainingData;
    let parts: TrainingParts;
    try {
      data = await openTrainingData(config);
      parts = buildParts({ ...config, pretrained: null, device: parallel.deviceFor(config.device) }, data.train.numClasses);
    } catch (err) {
      disposeCheckpoint(checkpoint);
      throw err;
    }
    const saved = checkpoint.trainer.sampler;
    if (saved.size !== data.train.size || saved.labelsHash !== hashLabels(data.train.labels)) {
      disposeCheckpoint(checkpoint);
      disposeParts(parts);
      throw new ConfigError(
        `${setting('resume')} ${config.out}: the training images changed since the run started (${saved.size} images then, ${data.train.size} now). ` +
          `Restore the data as it was to continue this run exactly, or start a new run with another ${setting('out')}` +
          (config.skipBadImages ? '.' : `; ${setting('skipBadImages')} in a new run drops unreadable images before training.`),
      );
    }
    try {
      restoreCheckpoint(parts, checkpoint);
    } catch (err) {
      disposeParts(parts);
      throw new ConfigError(`${setting('resume')} ${config.out}: the checkpoint does not fit this configuration: ${(err as Error).message}`);
    }
    const state = checkpoint.trainer;
    if (state.epoch > config.epochs) {
      disposeParts(parts);
      throw new ConfigError(`${setting('epochs')} ${config.epochs} is fewer than the ${state.epoch} epochs ${config.out} has completed`);
    }
    broadcastParts(parallel, parts);
    if (parallel.writes) {
      run.removeTemporaries();
      run.truncateMetrics(state.metricsBytes);
      run.writeConfig(config);
    }
    const trainer = new Trainer(config, run, data, parts, state, hooks, lock, parallel);
    const at = state.partialEpoch ? `in epoch ${state.epoch + 1} after step ${state.partialEpoch.steps}` : `after epoch ${state.epoch}`;
    trainer.log(`resuming ${config.out} ${at} (${state.step} steps so far)`);
    for (const warning of data.warnings) trainer.log(warning);
    return trainer;
  }

  /** Ask the loop to stop after the current step (what Ctrl-C does). */
  requestStop(): void {
    this.#stopRequested = true;
  }

  get stopRequested(): boolean {
    return this.#stopRequested;
  }

  /** Trains the remaining epochs; writes summary.json and returns it. */
  async train(): Promise<RunSummary> {
    const { config, data } = this;
    this.log(
      `training ${methodName(config.method)} on ${config.dataset} (${data.train.size} train images, ${data.train.numClasses} classes; ` +
        `${data.evaluation.query.size} test images) with ${config.arch}, ${this.parts.method.branches} BN branch(es), batch ${config.batchSize}, ` +
        `${config.epochs} epochs, ${config.threads} threads${this.parallel.worldSize > 1 ? ` in each of ${this.parallel.worldSize} processes${config.syncBn ? ', batch norms synchronised' : ''}` : ''}` +
          `${config.bnReplicas > 1 ? `, ${config.bnReplicas} replicas (chunks of ${replicaChunks(config.batchSize, config.bnReplicas).map(([a, b]) => b - a).join('/')})` : ''} -> ${this.run.path}`,
    );
    const global = restoreSampler(data.train.labels, this.state.sampler);
    const rows = this.parallel.shard(config.batchSize);
    const sampler: BatchSampler = this.parallel.worldSize > 1 ? new ShardedSampler(global, data.train.labels, rows) : global;
    const loader = new DataLoader(data.train, { sampler, transform: data.trainTransform, seed: config.seed, firstSlot: rows.start });
    try {
      while (this.state.epoch < config.epochs) {
        const progress = await this.trainEpoch(loader);
        await this.finishEpoch(progress);
      }
    } finally {
      loader.close();
    }
    if (this.state.lastEval?.epoch !== this.state.epoch) {
      await this.evaluate(this.state.epoch);
      this.saveCheckpoint();
    }
    const summary = buildSummary({
      config,
      state: this.state,
      trainImages: data.train.size,
      testImages: data.evaluation.query.size + (data.evaluation.sameSet ? 0 : data.evaluation.gallery.size),
    });
    if (this.parallel.writes) this.run.writeSummary(summary);
    const chosen = modelRecord(config, this.state);
    this.log(`done: Recall@1 ${fmt(chosen?.metrics['recall@1'])} (${config.modelSelection === 'final' ? 'final' : 'best on the test set'}, epoch ${chosen?.epoch ?? '-'}); summary in ${this.run.file('summary')}`);
    return summary;
  }

  /** Frees the model, loss and optimizer, and lets go of the run. */
  dispose(): void {
    disposeParts(this.parts);
    this.lock.release();
  }

  private async trainEpoch(loader: DataLoader): Promise<EpochProgress> {
    const epoch = this.state.epoch + 1;
    const progress = this.state.partialEpoch ?? { steps: 0, lossSum: 0, seconds: 0, samplesPerBranch: new Array<number>(this.parts.method.branches).fill(0) };
    const total = loader.batchesPerEpoch(epoch - 1);
    const bar = this.hooks.progress?.(`epoch ${epoch}/${this.config.epochs}`, total - progress.steps, 'step') ?? silentProgress;
    try {
      for (;;) {
        if (this.parallel.anyRank(this.#stopRequested)) this.interrupt(progress);
        const started = performance.now();
        const batch = await loader.next();
        if (batch.epoch !== epoch - 1) throw new Error(`internal: batch of sampler epoch ${batch.epoch} during epoch ${epoch}`);
        const result = this.step(batch, epoch, progress.steps, total);
        progress.steps += 1;
        progress.lossSum += result.loss;
        progress.seconds += (performance.now() - started) / 1000;
        // Every rank takes as many rows as this one (checkShards): the global batch's counts.
        const ranks = this.parallel.worldSize;
        result.samplesPerBranch.forEach((n, b) => (progress.samplesPerBranch[b] = (progress.samplesPerBranch[b] ?? 0) + n * ranks));
        this.state.step += 1;
        this.state.sampler = loader.state();
        this.state.partialEpoch = progress;
        bar.tick(1, `loss ${(progress.lossSum / progress.steps).toFixed(4)}`);
        if (batch.lastInEpoch) return progress;
        if (this.checkpointDue()) this.saveCheckpoint();
        await turnOfEventLoop();
      }
    } finally {
      bar.stop();
    }
  }

  private step(batch: Batch, epoch: number, stepInEpoch: number, total: number): StepResult {
    const { model, method, criterion, optimizer, lossScale } = this.parts;
    const device = this.device;
    manualSeed(stepSeed(this.config.seed, epoch, batch.step, this.parallel.rank));
    try {
      return tidy(() => {
        const images = tensor(batch.images, [...batch.shape]);
        const labels = tensor(batch.labels, [batch.labels.length]).to('int64');
        return methodStep(
          {
            model,
            method,
            criterion: finiteGuard(criterion),
            optimizer,
            memory: this.#defenseMemory,
            ...(this.#sync ? { sync: this.#sync } : {}),
            ...(lossScale ? { lossScale } : {}),
            ...(this.config.bnReplicas > 1 ? { bnReplicas: this.config.bnReplicas } : {}),
          },
          device === 'cpu' ? images : images.to(device),
          device === 'cpu' ? labels : labels.to(device),
        );
      });
    } catch (err) {
      if (!(err instanceof NonFiniteLossError)) throw err;
      throw new TrainingDiverged(
        `epoch ${epoch}, step ${stepInEpoch + 1}/${total}: the loss or the embeddings are ${err.value} (not finite); training stopped without applying that step. ` +
          `The last good checkpoint (${this.#checkpointAt}) is kept in ${this.run.file('checkpoint')}` +
          `${this.state.lastEval ? `, the model of epoch ${modelRecord(this.config, this.state)?.epoch} in ${this.run.file('model')}` : ''}. ` +
          `Lower the learning rate ${setting('lr')} (now ${this.config.lr}) and start a new run.`,
      );
    }
  }

  private async finishEpoch(progress: EpochProgress): Promise<void> {
    const epoch = this.state.epoch + 1;
    const { optimizer, scheduler } = this.parts;
    const loss = progress.lossSum / Math.max(1, progress.steps);
    if (this.parallel.writes)
      this.run.appendMetrics({
      kind: 'epoch',
      epoch,
      loss,
      seconds: progress.seconds,
      lr: optimizer.groups[0]!.lr,
      steps: progress.steps,
      samples_per_branch: progress.samplesPerBranch,
    });
    this.state.trainSeconds += progress.seconds;
    progress.samplesPerBranch.forEach((n, b) => (this.state.samplesPerBranch[b] = (this.state.samplesPerBranch[b] ?? 0) + n));
    this.state.epoch = epoch;
    this.state.partialEpoch = null;
    scheduler.step();
    this.state.scheduler = scheduler.stateDict();
    const every = this.config.evalEvery;
    const evaluated = epoch === this.config.epochs || (every > 0 && epoch % every === 0) ? await this.evaluate(epoch) : null;
    this.saveCheckpoint();
    const evalText = evaluated ? `, Recall@1 ${fmt(evaluated)} (best ${fmt(this.state.best?.metrics['recall@1'])} at epoch ${this.state.best?.epoch})` : '';
    this.log(`epoch ${epoch}/${this.config.epochs}: loss ${loss.toFixed(4)}, ${progress.seconds.toFixed(1)} s${evalText}`);
    if (this.parallel.anyRank(this.#stopRequested) && epoch < this.config.epochs) throw new TrainingInterrupted(this.run.path, epoch, progress.steps);
  }

  /** Evaluates, logs the line, and writes model.safetensors (every evaluation, or when Recall@1 beats the best with best-test). Returns Recall@1. */
  private async evaluate(epoch: number): Promise<number> {
    const started = performance.now();
    const { query, gallery, sameSet } = this.data.evaluation;
    const bar = this.hooks.progress?.(`evaluate ${epoch}`, query.size + (sameSet ? 0 : gallery.size), 'img') ?? silentProgress;
    let shown = 0;
    let metrics: Record<string, number>;
    try {
      metrics = await evaluateModel(this.parts.model, this.data.evaluation, {
        transform: this.data.testTransform,
        batchSize: this.config.evalBatchSize,
        device: this.device,
        ks: DATASETS[this.config.dataset].recallKs,
        splitEmbedder: (embedPart, split, dim) => this.parallel.embedSplit(split, dim, embedPart),
        onProgress: (done) => {
          bar.tick(done - shown);
          shown = done;
        },
      });
    } finally {
      bar.stop();
    }
    const seconds = (performance.now() - started) / 1000;
    if (this.parallel.writes) this.run.appendMetrics({ kind: 'eval', epoch, seconds, metrics });
    this.state.evalSeconds += seconds;
    this.state.lastEval = { epoch, metrics };
    const recall = metrics['recall@1'] ?? Number.NaN;
    const best = this.state.best?.metrics['recall@1'];
    const improved = best === undefined || recall > best;
    if (improved) this.state.best = { epoch, metrics };
    if (this.parallel.writes && (improved || this.config.modelSelection === 'final')) writeRunModel(this.run.file('model'), this.parts.model, this.config, epoch, metrics);
    return recall;
  }

  /** Whether --checkpoint-every asks for a mid-epoch checkpoint now. */
  private checkpointDue(): boolean {
    const every = this.config.checkpointEvery;
    if (every === 0) return false;
    if (typeof every === 'number') return this.state.step - this.#checkpointStep >= every;
    return performance.now() - this.#checkpointTime >= Number(every.slice(0, -1)) * 60_000;
  }

  private saveCheckpoint(): void {
    this.#checkpointStep = this.state.step;
    this.#checkpointTime = performance.now();
    if (!this.parallel.writes) return;
    this.state.metricsBytes = this.run.metricsBytes();
    const partial = this.state.partialEpoch;
    this.#checkpointAt = partial ? `at epoch ${this.state.epoch + 1}, step ${partial.steps}` : this.state.epoch === 0 ? 'at the start' : `after epoch ${this.state.epoch}`;
    withCheckpoint(this.parts, this.state, (checkpoint) => saveCheckpoint(this.run.path, checkpoint));
  }

  private interrupt(progress: EpochProgress): never {
    this.saveCheckpoint();
    throw new TrainingInterrupted(this.run.path, this.state.epoch + 1, progress.steps);
  }

  private log(line: string): void {
    this.hooks.log?.(line);
  }
}

/**
 * Lets pending I/O and signal handlers run. Awaiting an already prefetched batch only drains
 * microtasks, so without this a Ctrl-C would not be seen until the whole run ended.
 */
function turnOfEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The lock of a rank that does not write the run (rank 0 holds the real one). */
const FOLLOWER_LOCK: RunLock = { path: '', release() {} };

/** Rank 0's weights, buffers and loss parameters on every rank (a no-op alone). */
function broadcastParts(parallel: Parallelism, parts: TrainingParts): void {
  if (parallel.worldSize === 1) return;
  const { model, criterion } = parts;
  parallel.broadcast([...model.parameters(), ...model.namedBuffers().map(([, b]) => b), ...criterion.parameters()]);
}

/** Each rank takes whole classes' groups of every batch: batchSize / samplesPerClass must split evenly over the ranks. */
export function checkShards(config: TrainConfig): void {
  const groups = config.batchSize / config.samplesPerClass;
  if (config.worldSize > 1 && groups % config.worldSize !== 0) {
    throw new ConfigError(
      `${setting('batchSize')} ${config.batchSize} holds ${groups} classes of ${setting('samplesPerClass')} ${config.samplesPerClass}, ` +
        `which do not split evenly over ${config.worldSize} processes; choose a batch of a multiple of ${config.samplesPerClass * config.worldSize} images`,
    );
  }
  // A defense's loss is computed on one process's rows; gathering it across ranks is not built.
  if (config.worldSize > 1 && methodOf(config).defense !== undefined) {
    throw new ConfigError(`${setting('method')} ${methodName(config.method)} is a defense, which trains in one process; data-parallel training covers baseline, advprop-d, mdprop and methods of distributions`);
  }
  if (config.bnReplicas > 1) {
    const why =
      config.worldSize > 1 || config.syncBn
        ? `splits one process's batch as the MDProp authors' nn.DataParallel does; it cannot be combined with data-parallel training (${config.worldSize} processes${config.syncBn ? `, ${setting('syncBn')}` : ''})`
        : methodOf(config).defense !== undefined
          ? `is the MDProp authors' replicas, for methods of distributions; ${methodName(config.method)} is a defense`
          : config.bnReplicas > config.batchSize
            ? `is more than the ${config.batchSize} images of a batch (${setting('batchSize')})`
            : null;
    if (why !== null) throw new ConfigError(`${setting('bnReplicas')} ${config.bnReplicas} ${why}`);
  }
}

/** Refuses a folder that holds a run with progress (checked before any work starts, and again under the lock). */
function checkFree(path: string): void {
  if (RunDirectory.hasProgress(path)) {
    throw new ConfigError(`${setting('out')} ${path} already holds a run (a checkpoint or a model); continue it with ${setting('resume')} ${path} or choose another ${setting('out')}`);
  }
}

function fmt(value: number | undefined): string {
  return value === undefined ? '-' : value.toFixed(4);
}
