// The epoch loop of a run that startRun or resumeRun (run-start.ts) has set up: epochs of
// class-balanced batches, one method step per batch, evaluation every --eval-every epochs and after
// the last, the model file and a checkpoint after every epoch. Stops cleanly on request (Ctrl-C:
// after the current step, with a checkpoint) and on a NaN or infinite loss (without stepping,
// keeping the last good checkpoint).
import { DataLoader, DATASETS, turnOfEventLoop, restoreSampler, type Batch, type BatchSampler } from '../data/index.js';
import { cleanMetrics, type ComputeSetting } from '../evaluate/index.js';
import { methodName, saveCheckpoint, writeRunModelFile, type EpochProgress, type RunDirectory, type RunSummary, type TrainerState } from '../formats/index.js';
import { freshDefenseMemory, methodStep, NonFiniteLossError, replicaChunks, type StepResult, type StepSync } from '../methods/index.js';
import { setBatchStatsSync } from '../nn/index.js';
import { ShardedSampler, type Parallelism } from '../parallel/index.js';
import { manualSeed, onDevice, tensor, tidy } from '../torch/index.js';
import { ConfigError, setting, type TrainConfig } from './config.js';
import { finiteGuard } from './finite-guard.js';
import { withCheckpoint } from './learned-state.js';
import type { RunLock } from './run-lock.js';
import { stepSeed } from './seeding.js';
import { disposeParts, type TrainingData, type TrainingParts } from './setup.js';
import { buildSummary, modelRecord } from './summary.js';

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

  /** Made by startRun and resumeRun, which own what it is given until dispose(). */
  constructor(
    readonly config: TrainConfig,
    readonly run: RunDirectory,
    private readonly data: TrainingData,
    private readonly parts: TrainingParts,
    private readonly compute: ComputeSetting,
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
    return this.compute.device;
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
          onDevice(images, device),
          onDevice(labels, device),
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
      metrics = await cleanMetrics(this.parts.model, this.data.evaluation, {
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
    if (this.parallel.writes && (improved || this.config.modelSelection === 'final')) writeRunModelFile(this.run.file('model'), this.parts.model, this.config, epoch, metrics);
    return recall;
  }

  /** Whether --checkpoint-every asks for a mid-epoch checkpoint now. */
  private checkpointDue(): boolean {
    const every = this.config.checkpointEvery;
    if (every === 0) return false;
    if (typeof every === 'number') return this.state.step - this.#checkpointStep >= every;
    return performance.now() - this.#checkpointTime >= Number(every.slice(0, -1)) * 60_000;
  }

  /** Writes the checkpoint (rank 0), and notes where it stands for --checkpoint-every and messages. */
  saveCheckpoint(): void {
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

  log(line: string): void {
    this.hooks.log?.(line);
  }
}

function fmt(value: number | undefined): string {
  return value === undefined ? '-' : value.toFixed(4);
}
