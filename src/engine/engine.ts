import type { LoopPoolError } from '../errors';
import type { Transport } from '../transport/transport';
import { workerError } from './failures';
import { Job, type JobHost, type JobOptions, type JobSink, type WorkerSlot } from './job';

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

/**
 * Runs the tasks of its jobs on `size` workers with at most `concurrency` tasks each. Knows
 * workers only as {@link WorkerPort}s, so the same engine runs threads and, in marble tests,
 * cold observables in virtual time.
 *
 * Dispatch: whenever a worker has room, the least busy worker (ties broken round-robin)
 * takes the next startable input; jobs sharing the engine take turns.
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
  private stopped = false;

  constructor(
    transport: Transport<T, R>,
    private readonly options: EngineOptions,
    /** How errors name the worker module. */
    private readonly workerName: string,
    private readonly events: EngineEvents<R>,
  ) {
    for (let index = 0; index < options.size && !this.stopped; index++) {
      const port = transport(index, {
        emitted: (value) => this.stopped || this.events.emitted(value, index),
        failed: (failure) => this.fail(workerError(failure, index, this.workerName)),
      });
      this.slots.push({ index, port, inFlight: 0 });
    }
  }

  /** Resolves when every worker has run `init`. */
  get ready(): Promise<void> {
    return Promise.all(this.slots.map((slot) => slot.port.ready)).then(() => undefined);
  }

  /** Opens a stream of inputs whose results go to `sink`. */
  open(sink: JobSink<R>, options: JobOptions): Job<T, R> {
    const job = new Job<T, R>(this, sink, options);
    this.jobs.push(job);
    return job;
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

  release(slot: WorkerSlot<T, R>): void {
    slot.inFlight--;
  }

  detach(job: Job<T, R>): void {
    const at = this.jobs.indexOf(job);
    if (at >= 0) this.jobs.splice(at, 1);
  }

  /** Stops every worker at once; open jobs are closed without notification. */
  async terminate(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const job of [...this.jobs]) job.close();
    await Promise.all(this.slots.map((slot) => slot.port.terminate()));
  }

  private dispatch(): void {
    while (!this.stopped) {
      const slot = this.leastBusySlot();
      if (!slot) return;
      const job = this.nextJob();
      if (!job) return;
      this.slotCursor = (slot.index + 1) % this.slots.length;
      job.start(slot);
    }
  }

  /** The worker with the fewest tasks in flight and room for one more; ties go round-robin. */
  private leastBusySlot(): WorkerSlot<T, R> | undefined {
    let best: WorkerSlot<T, R> | undefined;
    const count = this.slots.length;
    for (let offset = 0; offset < count; offset++) {
      const slot = this.slots[(this.slotCursor + offset) % count]!;
      if (slot.inFlight < this.options.concurrency && (!best || slot.inFlight < best.inFlight)) best = slot;
    }
    return best;
  }

  /** The next job, in turn, that has an input ready to start. */
  private nextJob(): Job<T, R> | undefined {
    const count = this.jobs.length;
    for (let offset = 0; offset < count; offset++) {
      const at = (this.jobCursor + offset) % count;
      const job = this.jobs[at]!;
      if (job.hasStartable()) {
        this.jobCursor = (at + 1) % count;
        return job;
      }
    }
    return undefined;
  }

  private fail(error: LoopPoolError): void {
    if (this.stopped) return;
    this.events.failed(error);
  }
}
