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
  /** Tasks a worker runs at once. */
  readonly concurrency: number;
  /** Tasks handed to a worker beyond those it runs, so that it never waits for the next. */
  readonly queueSize: number;
}

/** Counts of one worker, as `stats()` reports them. */
export interface WorkerLoad {
  readonly index: number;
  /** Tasks running on the worker; at most `concurrency`. */
  readonly inFlight: number;
  /** Tasks handed to the worker that wait for a free place there; at most `queueSize`. */
  readonly queued: number;
  /** Tasks for this worker alone (targeted puts, broadcasts) not yet handed over; unbounded. */
  readonly waiting: number;
}

/**
 * Runs the tasks of its jobs on `size` workers with at most `concurrency` tasks each. Knows
 * workers only as {@link WorkerPort}s, so the same engine runs threads and, in marble tests,
 * cold observables in virtual time.
 *
 * Dispatch: each worker is handed up to `concurrency + queueSize` tasks; it runs
 * `concurrency` of them and keeps the rest at hand. A worker with room first takes the tasks
 * meant for it alone, in order; then the least busy worker (ties round-robin) takes the next
 * input any worker may run, from the jobs in turn.
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
  /** Inputs dropped by overflow strategies, across jobs, since the engine started. */
  private droppedCount = 0;

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
      this.slots.push({ index, port, assigned: 0, queue: new Queue(), sequentialRunning: false });
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
    const { concurrency } = this.options;
    return this.slots.map(({ index, assigned, queue }) => ({
      index,
      inFlight: Math.min(assigned, concurrency),
      queued: Math.max(0, assigned - concurrency),
      waiting: queue.length,
    }));
  }

  /** Inputs not yet handed to a worker, across jobs and workers: the input buffer. */
  get waiting(): number {
    return this.jobs.reduce((sum, job) => sum + job.waiting, 0) + this.slots.reduce((sum, slot) => sum + slot.queue.length, 0);
  }

  /** Inputs dropped by overflow strategies since the engine started. */
  get dropped(): number {
    return this.droppedCount;
  }

  noteDropped(): void {
    this.droppedCount++;
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
    slot.assigned--;
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

  /** Hands over one task queued for a specific worker that has room; false if none can go. */
  private dispatchTargeted(): boolean {
    for (const slot of this.slots) {
      if (!this.hasRoom(slot)) continue;
      const head = slot.queue.peek();
      if (!head) continue;
      if (head.job.closed) {
        slot.queue.shift();
        head.job.dropTargeted(head.task);
        return true;
      }
      // A broadcast waits until its worker has finished everything handed over before it.
      if (!head.job.mayStart(head.task) || (head.task.sequential && slot.assigned > 0)) continue;
      slot.queue.shift();
      head.job.start(head.task, slot);
      return true;
    }
    return false;
  }

  /** Whether the worker can take one more task: it has room, and runs no broadcast. */
  private hasRoom(slot: WorkerSlot<T, R>): boolean {
    return slot.assigned < this.options.concurrency + this.options.queueSize && !slot.sequentialRunning;
  }

  /** Starts one input that any worker may run on the least busy worker; false if none can start. */
  private dispatchShared(): boolean {
    const slot = this.leastBusySlot();
    if (!slot) return false;
    const count = this.jobs.length;
    for (let offset = 0; offset < count; offset++) {
      const at = (this.jobCursor + offset) % count;
      const job = this.jobs[at];
      if (!job) return true; // a job ended while asked for input (its source ran out): look again
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
   * The worker with room that is least busy (tasks handed over plus tasks waiting for it
   * alone); ties go round-robin. A worker running a broadcast, or with one next in its queue,
   * takes no other task.
   */
  private leastBusySlot(): WorkerSlot<T, R> | undefined {
    let best: WorkerSlot<T, R> | undefined;
    let bestLoad = Infinity;
    const count = this.slots.length;
    for (let offset = 0; offset < count; offset++) {
      const slot = this.slots[(this.slotCursor + offset) % count]!;
      const load = slot.assigned + slot.queue.length;
      if (this.hasRoom(slot) && load < bestLoad && slot.queue.peek()?.task.sequential !== true) {
        best = slot;
        bestLoad = load;
      }
    }
    return best;
  }
}
