// Dynamic batching: requests that arrive close together are embedded in one forward pass. The
// first request of a batch waits at most `maxWaitMs` for others; a batch runs as soon as it has
// `maxBatch` requests, or as soon as no other request is on its way (announced with arrive():
// being decoded), so a lone request does not wait at all. One batch runs at a time (libtorch already uses every thread), and the
// requests waiting are bounded: beyond `maxQueue` a request is refused at once (QueueFull, a 503),
// so overload shows as fast refusals rather than growing memory and latency.

export interface BatcherOptions {
  maxBatch: number;
  maxWaitMs: number;
  maxQueue: number;
}

export class QueueFull extends Error {
  override name = 'QueueFull';
}

/** Refused because the request waited longer than its deadline before its batch began. */
export class QueueTimeout extends Error {
  override name = 'QueueTimeout';
}

interface Waiting<I, O> {
  input: I;
  resolve: (output: O) => void;
  reject: (err: unknown) => void;
  since: number;
  timer: NodeJS.Timeout | null;
}

export class DynamicBatcher<I, O> {
  private readonly waiting: Waiting<I, O>[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private arriving = 0;

  constructor(
    /** Outputs in input order. */
    private readonly run: (inputs: I[]) => O[] | Promise<O[]>,
    private readonly options: BatcherOptions,
    private readonly onBatch?: (size: number) => void,
  ) {}

  /** Requests waiting for a batch (not counting the one running). */
  get depth(): number {
    return this.waiting.length;
  }

  /**
   * Announces a request that will be submitted soon (its image is being decoded); batches wait
   * for it, within `maxWaitMs`. Call the returned function once, when it is submitted or given up.
   */
  arrive(): () => void {
    this.arriving++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.arriving--;
      this.schedule();
    };
  }

  /** Queues `input`; rejects with QueueFull when the queue is full, QueueTimeout after `timeoutMs` of waiting. */
  submit(input: I, timeoutMs = 0): Promise<O> {
    if (this.waiting.length >= this.options.maxQueue) return Promise.reject(new QueueFull(`the queue is full (${this.options.maxQueue} requests waiting); try again shortly`));
    return new Promise<O>((resolve, reject) => {
      const entry: Waiting<I, O> = { input, resolve, reject, since: Date.now(), timer: null };
      if (timeoutMs > 0) {
        entry.timer = setTimeout(() => {
          const at = this.waiting.indexOf(entry);
          if (at < 0) return; // already in a batch: it will answer
          this.waiting.splice(at, 1);
          reject(new QueueTimeout(`the request waited ${timeoutMs} ms for the model without being served`));
        }, timeoutMs);
      }
      this.waiting.push(entry);
      this.schedule();
    });
  }

  /** Resolves once nothing waits and no batch runs. */
  async drain(): Promise<void> {
    while (this.running || this.waiting.length > 0) {
      if (this.running) await this.running;
      else this.flush();
    }
  }

  private schedule(): void {
    if (this.running) return; // the running batch schedules the next when it ends
    const oldest = this.waiting[0];
    if (!oldest) return;
    const waited = Date.now() - oldest.since;
    if (this.waiting.length >= this.options.maxBatch || this.arriving === 0 || waited >= this.options.maxWaitMs) {
      this.flush();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.flush();
    }, this.options.maxWaitMs - waited);
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.running || this.waiting.length === 0) return;
    const batch = this.waiting.splice(0, this.options.maxBatch);
    for (const entry of batch) if (entry.timer) clearTimeout(entry.timer);
    this.onBatch?.(batch.length);
    this.running = (async () => {
      // Yield first: a run that throws at once must not finish before `running` is assigned.
      await Promise.resolve();
      try {
        const outputs = await this.run(batch.map((e) => e.input));
        batch.forEach((e, i) => e.resolve(outputs[i]!));
      } catch (err) {
        for (const e of batch) e.reject(err);
      } finally {
        this.running = null;
        // Let the event loop take in the requests that arrived during the batch first.
        setImmediate(() => this.schedule());
      }
    })();
  }
}
