import type { LoopPoolError } from '../errors';
import type { Transport } from '../transport/transport';
import { workerError } from './failures';
import { Job, type JobHost, type JobOptions, type JobSink, type Task, type WorkerSlot } from './job';
import { Queue } from './queue';

/** What the engine reports that belongs to no task. */
export interface EngineEvents<R> {
  /** A value a worker sent with `ctx.emit`. */
  emitted(value: R, workerIndex: number): void;
  /** A worker failed to load, crashed, or emitted a value that could not be cloned. */
  failed(error: LoopPoolError): void;
}

/** The engine's shape: how many workers, how many tasks each. */
export interface EngineOptions {
  readonly size: number;
  readonly concurrency: number;
}

/** Counts of one worker, as `stats()` reports them. */
export interface WorkerLoad {
  readonly index: number;
  /** Tasks running on the worker. */
  readonly inFlight: number;
  /** Tasks waiting for this worker alone (targeted puts, broadcasts). */
  readonly queued: number;
}

/**
 * Runs the tasks of its jobs on `size` workers with at most `concurrency` tasks each. Knows
 * workers only as {@link WorkerPort}s, so the same engine runs threads and, in marble tests,
 * cold observables in virtual time.
 *
 * Dispatch: a worker with room first takes the tasks queued for it alone, in order; then the
 * least busy worker (fewest tasks running and queued; ties round-robin) takes the next input
 * any worker may run, from the jobs in turn.
 */
export class Engine<T, R> implements JobHost<T, R> {
  /** One slot per worker, at the worker's index. */
  private readonly slots: Array<WorkerSlot<T, R>> = [];
  /** Open jobs; the dispatcher serves them in turn. */
  private readonly jobs: Array<Job<T, R>> = [];
  /** The job to ask first on the next dispatch, so jobs take turns. */
  private jobCursor = 0;
  /** The worker to prefer first among equally busy ones. */
  private slotCursor = 0;
  /** True while `pump` runs; a nested call only asks for one more pass. */
  private pumping = false;
  private pumpAgain = false;
  /** Set by `drain`: resolves once the last job has ended. */
  private drained: { promise: Promise<void>; resolve(): void } | undefined;
  private stopped = false;

  constructor(
    transport: Transport<T, R>,
    private readonly options: EngineOptions,
    /** How errors name the worker module. */
    private readonly workerName: string,
    private readonly events: EngineEvents<R>,
  ) {
    for (let index = 0; index < options.size; index++) {
      const port = transport(index, {
        emitted: (value) => this.stopped || this.events.emitted(value, index),
        failed: (failure) => this.stopped || this.events.failed(workerError(failure, index, this.workerName)),
      });
      this.slots.push({ index, port, inFlight: 0, queue: new Queue(), sequentialRunning: false });
    }
  }

  get size(): number {
    return this.slots.length;
  }

  /** Resolves when every worker has run `init`; rejects with the first worker's failure. */
  get ready(): Promise<void> {
    return Promise.all(
      this.slots.map((slot) =>
        slot.port.ready.catch((failure: unknown) => {
          throw workerError(failure as never, slot.index, this.workerName);
        }),
      ),
    ).then(() => undefined);
  }

  /** Opens a stream of inputs whose results go to `sink`. */
  open(sink: JobSink<R>, options: JobOptions): Job<T, R> {
    const job = new Job<T, R>(this, sink, options);
    this.jobs.push(job);
    return job;
  }

  /** Per-worker counts. */
  load(): WorkerLoad[] {
    return this.slots.map(({ index, inFlight, queue }) => ({ index, inFlight, queued: queue.length }));
  }

  /** Inputs waiting for any worker, across jobs. */
  get waiting(): number {
    return this.jobs.reduce((sum, job) => sum + job.waiting, 0);
  }

  enqueue(target: number, job: Job<T, R>, task: Task<T>): void {
    this.slots[target]!.queue.push({ job, task });
  }

  /** Starts waiting tasks while workers have room. Safe to call from inside a task's callbacks. */
  pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.dispatch();
      } while (this.pumpAgain && !this.stopped);
    } finally {
      this.pumping = false;
    }
  }

  release(slot: WorkerSlot<T, R>, task: Task<T>): void {
    slot.inFlight--;
    if (task.sequential) slot.sequentialRunning = false;
  }

  detach(job: Job<T, R>): void {
    const at = this.jobs.indexOf(job);
    if (at >= 0) this.jobs.splice(at, 1);
    if (this.drained && this.jobs.length === 0) this.drained.resolve();
  }

  /** Resolves once every open job has ended, jobs opened meanwhile included. */
  drain(): Promise<void> {
    if (!this.drained) {
      let resolve!: () => void;
      const promise = new Promise<void>((done) => (resolve = done));
      this.drained = { promise, resolve };
      if (this.jobs.length === 0) resolve();
    }
    return this.drained.promise;
  }

  /**
   * Stops every worker at once. Open jobs are closed: the `settled` callback of each of their
   * unfinished tasks gets `reason`, if one is given.
   */
  async terminate(reason?: LoopPoolError): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const job of [...this.jobs]) job.close(reason);
    for (const slot of this.slots) {
      for (const { job, task } of slot.queue.drain()) job.dropTargeted(task, reason);
    }
    await Promise.all(this.slots.map((slot) => slot.port.terminate()));
  }

  private dispatch(): void {
    while (!this.stopped && (this.dispatchTargeted() || this.dispatchShared()));
  }

  /** Starts one task queued for a specific worker that has room; false if none can start. */
  private dispatchTargeted(): boolean {
    for (const slot of this.slots) {
      if (slot.inFlight >= this.options.concurrency) continue;
      const head = slot.queue.peek();
      if (!head) continue;
      if (head.job.closed) {
        slot.queue.shift();
        head.job.dropTargeted(head.task);
        return true;
      }
      if (!head.job.mayStart(head.task) || (head.task.sequential && slot.sequentialRunning)) continue;
      slot.queue.shift();
      head.job.start(head.task, slot);
      return true;
    }
    return false;
  }

  /** Starts one input that any worker may run on the least busy worker; false if none can start. */
  private dispatchShared(): boolean {
    const slot = this.leastBusySlot();
    if (!slot) return false;
    const count = this.jobs.length;
    for (let offset = 0; offset < count; offset++) {
      const at = (this.jobCursor + offset) % count;
      const job = this.jobs[at]!;
      const task = job.nextStartable();
      if (task) {
        this.jobCursor = (at + 1) % count;
        this.slotCursor = (slot.index + 1) % this.slots.length;
        job.start(task, slot);
        return true;
      }
    }
    return false;
  }

  /**
   * The worker with room that is least busy (running plus queued); ties go round-robin. A
   * worker running a broadcast, or with one next in its queue, takes no other task.
   */
  private leastBusySlot(): WorkerSlot<T, R> | undefined {
    let best: WorkerSlot<T, R> | undefined;
    let bestLoad = Infinity;
    const count = this.slots.length;
    for (let offset = 0; offset < count; offset++) {
      const slot = this.slots[(this.slotCursor + offset) % count]!;
      const load = slot.inFlight + slot.queue.length;
      const barred = slot.sequentialRunning || slot.queue.peek()?.task.sequential === true;
      if (slot.inFlight < this.options.concurrency && load < bestLoad && !barred) {
        best = slot;
        bestLoad = load;
      }
    }
    return best;
  }
}
