import { asyncScheduler } from 'rxjs';
import { WorkerCrashError, type LoopPoolError } from '../errors';
import type { Transport, WorkerFailure, WorkerSample } from '../transport/transport';
import { workerError } from './failures';
import { Job, type JobHost, type TaskRun } from './job';
import { RestartBudget } from './restarts';
import { WorkerSlot } from './slot';
import type { JobOptions, JobSink, Task } from './types';

/** One task in this many is timed: timing every tiny task would cost more than the figures are worth. */
export const measureEvery = 8;

/** What the engine reports that belongs to no task. */
export interface EngineEvents<R> {
  /** A value a worker sent with `ctx.emit`. */
  emitted(value: R, workerIndex: number): void;
  /**
   * Something the engine cannot mend: a worker failed to load, workers crashed more often
   * than `maxRestarts` allows, or a value sent with `ctx.emit` could not be cloned.
   */
  failed(error: LoopPoolError): void;
  /** A crashed worker was replaced; what it must run before anything else can be queued now. */
  restarted?(workerIndex: number): void;
  /** Every task error, once final, and every crash, even one the engine recovered from: for `errors$` and `onError`. */
  reported?(error: LoopPoolError): void;
  /**
   * A task ended. One task in {@link measureEvery} is timed: `ms` is how long it ran, from its
   * start on a worker to its end; for the others it is undefined.
   */
  measured?(ms: number | undefined): void;
}

/** The engine's shape and its limits. */
export interface EngineOptions {
  /** The pool's name: worker `i` is `<name>#<i>` in errors. */
  readonly name: string;
  readonly size: number;
  /** Tasks a worker runs at once. */
  readonly concurrency: number;
  /** Tasks handed to a worker beyond those it runs, so that it never waits for the next. */
  readonly queueSize: number;
  /** Times a task is run again after its worker crashed under it. */
  readonly retries: number;
  /** Replacements allowed in any minute. */
  readonly maxRestarts: number;
  /** Milliseconds a task may run, if limited. */
  readonly taskTimeout: number | undefined;
  /** Milliseconds a worker gets to answer after a timeout before it is replaced. */
  readonly gracePeriod: number;
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
  /** Times this worker was replaced after a crash. */
  readonly restarts: number;
  /** Tasks completed on this worker. */
  readonly done: number;
  /** Tasks failed for good on this worker. */
  readonly failed: number;
}

/**
 * Runs the tasks of its jobs on `size` workers. Knows workers only as {@link WorkerPort}s,
 * so the same engine runs threads and, in marble tests, cold observables in virtual time.
 *
 * Dispatch: each worker is handed up to `concurrency + queueSize` tasks; it runs
 * `concurrency` of them and keeps the rest at hand. A worker with room first takes the tasks
 * meant for it alone, in order; then the least busy worker (ties round-robin) takes the next
 * input any worker may run, from the jobs in turn.
 *
 * Supervision: a worker that crashes is replaced in its slot (`restarted` lets the owner
 * queue what the new worker must run first) and its tasks are retried; a task that runs past
 * `taskTimeout` fails, and its worker must answer a ping within `gracePeriod` or be replaced.
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
  /** Restarts per slot, for stats. */
  private readonly restartCounts: number[];
  /** Restarts within the last minute, against `maxRestarts`. */
  private readonly budget: RestartBudget;
  /** Tasks started since the engine started, to time one in {@link measureEvery}. */
  private timed = 0;

  constructor(
    private readonly transport: Transport<T, R>,
    private readonly options: EngineOptions,
    /** How errors name the worker module. */
    private readonly workerName: string,
    private readonly events: EngineEvents<R>,
  ) {
    this.restartCounts = new Array<number>(options.size).fill(0);
    this.budget = new RestartBudget(options.maxRestarts, 60_000);
    for (let index = 0; index < options.size; index++) {
      const slot = new WorkerSlot<T, R>(index, undefined as never);
      this.slots.push(slot);
      slot.port = this.spawn(slot);
    }
  }

  get size(): number {
    return this.slots.length;
  }

  get retries(): number {
    return this.options.retries;
  }

  get taskTimeout(): number {
    return this.options.taskTimeout ?? Infinity;
  }

  /** Resolves when every first worker has run `init`; rejects with the first one's failure. */
  get ready(): Promise<void> {
    return Promise.all(
      this.slots.map((slot) =>
        slot.port.ready.catch((failure: unknown) => {
          throw workerError(failure as WorkerFailure, slot.index, this.workerName);
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
    return this.slots.map(({ index, assigned, queue, done, failed }) => ({
      index,
      inFlight: Math.min(assigned, concurrency),
      queued: Math.max(0, assigned - concurrency),
      waiting: queue.length,
      restarts: this.restartCounts[index]!,
      done,
      failed,
    }));
  }

  /** Measures every worker (see `WorkerPort.sample`). */
  sampleWorkers(): Promise<WorkerSample[]> {
    return Promise.all(this.slots.map((slot) => slot.port.sample()));
  }

  /** For each worker whose loop has not turned for `threshold` ms: how long, and the task running there. */
  blocked(threshold: number): Array<{ readonly index: number; readonly ms: number; readonly run: TaskRun<T, R> | undefined }> {
    const found = [];
    for (const slot of this.slots) {
      const blocked = slot.port.blocked();
      if (blocked && blocked.ms >= threshold) {
        found.push({ index: slot.index, ms: blocked.ms, run: blocked.key as TaskRun<T, R> | undefined });
      }
    }
    return found;
  }

  record(run: TaskRun<T, R>, error?: LoopPoolError): void {
    if (error) {
      run.slot.failed++;
      error.workerName = this.workerNameOf(run.slot.index);
      this.events.reported?.(error);
    } else {
      run.slot.done++;
    }
    this.events.measured?.(run.startedAt > 0 ? performance.now() - run.startedAt : undefined);
  }

  /** Inputs not yet handed to a worker, across jobs and workers: the input buffer. */
  get waiting(): number {
    let waiting = 0;
    for (const job of this.jobs) waiting += job.waiting;
    for (const slot of this.slots) waiting += slot.queue.length;
    return waiting;
  }

  /** Inputs dropped by overflow strategies since the engine started. */
  get dropped(): number {
    return this.droppedCount;
  }

  noteDropped(): void {
    this.droppedCount++;
  }

  enqueue(target: number, job: Job<T, R>, task: Task<T>, first = false): void {
    const queue = this.slots[target]!.queue;
    if (first) queue.unshift({ job, task });
    else queue.push({ job, task });
  }

  handOver(run: TaskRun<T, R>): void {
    const { slot, task } = run;
    if (task.sequential) slot.sequentialRunning = true;
    if (slot.front.size < this.options.concurrency) {
      slot.front.add(run);
      this.begin(run);
    } else {
      slot.back.push(run);
      slot.behind++;
    }
  }

  release(run: TaskRun<T, R>): void {
    const { slot, task } = run;
    run.clock?.unsubscribe();
    if (task.sequential) slot.sequentialRunning = false;
    if (!slot.front.delete(run)) {
      run.gone = true;
      slot.behind--;
      return;
    }
    // The next task waiting at the worker moves up into the free running place.
    for (let next = slot.back.shift(); next; next = slot.back.shift()) {
      if (next.gone) continue;
      slot.behind--;
      slot.front.add(next);
      this.begin(next);
      return;
    }
  }

  wasRunning(run: TaskRun<T, R>, unseenReady: boolean): boolean {
    run.slot.markDown();
    // A worker that died before its readiness reached us may have run the tasks that held its
    // running places: they count as run, so a task that kills every worker runs out of retries.
    return run.started || (unseenReady && run.slot.front.has(run));
  }

  /**
   * `run` has passed `taskTimeout`: ping its worker. Meanwhile nothing is handed to the worker
   * and the clocks of its other tasks stop (a stuck task blocks them too). If the worker
   * answers, its loop turns: `run` is cancelled (its `ctx.signal` aborts) and fails with
   * `TaskTimeoutError`, and the other clocks go on where they stopped. If it does not answer
   * within `gracePeriod`, it is killed: the task that blocked its loop fails with
   * `TaskTimeoutError`, the others are retried as after a crash.
   */
  probe(run: TaskRun<T, R>): void {
    const { slot } = run;
    if (slot.probe || this.stopped) return;
    const { port, generation } = slot;
    const since = asyncScheduler.now();
    let answered = false;
    for (const other of slot.handed()) {
      other.clock?.unsubscribe();
      other.clock = undefined;
    }
    slot.trigger = run;
    slot.probe = asyncScheduler.schedule(() => {
      if (!answered && slot.generation === generation && !this.stopped) port.kill();
    }, this.options.gracePeriod);
    port.ping(() => {
      answered = true;
      if (slot.generation !== generation || this.stopped) return;
      slot.probe?.unsubscribe();
      slot.probe = undefined;
      slot.trigger = undefined;
      run.job.expire(run);
      const paused = asyncScheduler.now() - since;
      for (const other of slot.front) {
        if (!other.started) continue;
        other.deadline += paused;
        this.startClock(other);
      }
      this.startRunning(slot);
      this.pump();
    });
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
      slot.probe?.unsubscribe();
      for (const { job, task } of slot.queue.drain()) job.dropTargeted(task, reason);
    }
    await Promise.all(this.slots.map((slot) => slot.port.terminate()));
  }

  /** `<pool name>#<index>`. */
  workerNameOf(index: number): string {
    return `${this.options.name}#${index}`;
  }

  /** Starts a worker in `slot`; its events count only while it is the slot's current worker. */
  private spawn(slot: WorkerSlot<T, R>): WorkerSlot<T, R>['port'] {
    const { generation, index } = slot;
    const current = (): boolean => !this.stopped && slot.generation === generation;
    const port = this.transport(index, {
      emitted: (value) => current() && this.events.emitted(value, index),
      failed: (failure) => current() && this.workerFailed(slot, failure),
    });
    // Tasks handed over while the worker was starting begin when it is ready.
    port.ready.then(() => current() && this.startRunning(slot), () => {});
    return port;
  }

  /** A worker failed: replace it if it had been running, within the restart budget; else give up. */
  private workerFailed(slot: WorkerSlot<T, R>, failure: WorkerFailure): void {
    if (failure.kind === 'unserializable' || (failure.kind === 'load' && slot.generation === 0)) {
      const error = workerError(failure, slot.index, this.workerName);
      error.workerName = this.workerNameOf(slot.index);
      this.events.failed(error);
      return;
    }
    const cause = workerError(failure, slot.index, this.workerName);
    cause.workerName = this.workerNameOf(slot.index);
    this.events.reported?.(cause);
    if (!this.budget.take(asyncScheduler.now())) {
      this.events.failed(
        new WorkerCrashError(
          slot.index,
          failure.kind === 'crashed' ? failure.exitCode : 1,
          undefined,
          failure.kind === 'crashed' ? failure.reason : 'exited',
          cause,
          `Workers crashed more than ${this.options.maxRestarts} times within a minute (maxRestarts); ` +
            `worker ${slot.index} was not restarted. Last: ${cause.message}`,
        ),
      );
      return;
    }
    this.restartCounts[slot.index]!++;
    slot.probe?.unsubscribe();
    slot.probe = undefined;
    slot.trigger = undefined;
    slot.sequentialRunning = false;
    slot.generation++;
    slot.port = this.spawn(slot);
    // What the replacement must run first is queued in one go, before any of it is handed over.
    const wasPumping = this.pumping;
    this.pumping = true;
    try {
      this.events.restarted?.(slot.index);
    } finally {
      this.pumping = wasPumping;
    }
    this.pump();
  }

  /** Marks as running every task in the worker's running places that has not started yet (see {@link begin}). */
  private startRunning(slot: WorkerSlot<T, R>): void {
    for (const run of slot.front) if (!run.started) this.begin(run);
  }

  /**
   * A task holds a running place: mark it running and start its `taskTimeout` clock. Not
   * before the worker is ready, nor while it is suspected of being stuck (a task behind a stuck
   * one has not started), nor once it has crashed: {@link startRunning} catches up later.
   */
  private begin(run: TaskRun<T, R>): void {
    const { slot } = run;
    if (slot.probe || slot.down || !slot.port.isReady) return;
    run.started = true;
    if (this.events.measured && ++this.timed % measureEvery === 0) run.startedAt = performance.now();
    if (this.options.taskTimeout === undefined) return;
    run.deadline = asyncScheduler.now() + this.options.taskTimeout;
    this.startClock(run);
  }

  /** Fails `run` with TaskTimeoutError at its deadline, if tasks have a timeout. */
  private startClock(run: TaskRun<T, R>): void {
    const timeout = this.options.taskTimeout;
    if (timeout === undefined) return;
    run.clock = asyncScheduler.schedule(() => this.probe(run), Math.max(0, run.deadline - asyncScheduler.now()));
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

  /** Whether the worker can take one more task: it has room, runs no broadcast, answers, and has not crashed. */
  private hasRoom(slot: WorkerSlot<T, R>): boolean {
    const { concurrency, queueSize } = this.options;
    return slot.assigned < concurrency + queueSize && !slot.sequentialRunning && !slot.probe && !slot.down;
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
