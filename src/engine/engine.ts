import { asyncScheduler, type Subscription } from 'rxjs';
import type { LoopPoolError } from '../errors';
import { tracingFor, type Tracing } from '../otel/tracing';
import { canSample, canWatch, type Located, type PortFactory, type WorkerSample } from '../transport/transport';
import { leastBusy } from './balancer';
import { Job } from './job';
import { Queue } from './queue';
import { RestartBudget } from './restarts';
import { planScaling, roomOf, type ScaleBounds, type WorkerFacts } from './scaling';
import { WorkerSlot, type SlotHost, type SlotOptions } from './slot';
import type { JobOptions, JobSink, Task } from './types';

/** What the engine reports that belongs to no task. */
export interface EngineEvents<R> {
  /** A value a worker sent with `ctx.emit`. */
  emitted(value: R, workerIndex: number): void;
  /** Something the engine cannot mend: a worker module that does not load, or workers that crash more often than `maxRestarts` allows. */
  failed(error: LoopPoolError): void;
  /** Something a worker could not send (a `ctx.emit` value that does not clone): dropped; nothing fails. */
  warned(error: LoopPoolError): void;
  /** A crashed worker was replaced; what it must run before anything else can be queued now. */
  restarted?(workerIndex: number): void;
  /** An elastic pool started a worker at an index where none ran; what it must run first can be queued now. */
  started?(workerIndex: number): void;
  /** An elastic pool stopped an idle worker. */
  retired?(workerIndex: number): void;
  /** Every task error, once final, and every crash, even one the engine recovered from: for `errors$` and `onError`. */
  reported?(error: LoopPoolError): void;
  /** A task ended; `ms` is how long it ran, for one task in eight (`measureEvery`). */
  measured?(ms: number | undefined): void;
}

/** The engine's shape and its limits. */
export interface EngineOptions extends SlotOptions {
  /** The pool's name: worker `i` is `<name>#<i>` in errors. */
  readonly name: string;
  /** Workers at most; indices go from 0 to `size - 1`. */
  readonly size: number;
  /** Workers started with the engine and never stopped for idleness; `size` for a fixed pool. */
  readonly minSize: number;
  /** Milliseconds an elastic pool's worker may hold nothing before it stops. */
  readonly idleTimeout: number;
}

/** Counts of one worker, as `stats()` reports them. */
export interface WorkerLoad {
  readonly index: number;
  /** Tasks handed to the worker that hold its running places; at most `concurrency`. */
  readonly inFlight: number;
  /** Tasks handed to the worker behind them, waiting there; at most `queueSize`. */
  readonly queued: number;
  /** Tasks for this worker alone (targeted puts, broadcasts) not yet handed over; unbounded. */
  readonly waiting: number;
  readonly restarts: number;
  readonly done: number;
  readonly failed: number;
  /** The worker has run `init` and has not ended since. */
  readonly live: boolean;
  /** Where a remote worker runs (`hostname:pid` of its host); undefined for a local one. */
  readonly host: string | undefined;
}

/** A task for one worker only, with its job. */
interface Targeted<T, R> {
  readonly job: Job<T, R>;
  readonly task: Task<T>;
}

/**
 * Runs the tasks of its jobs on `size` workers, each a {@link WorkerSlot} that owns what its
 * worker runs. The engine keeps dispatch and the jobs' turns; it knows workers only through
 * their slots, so the same engine runs threads and, in marble tests, cold observables in
 * virtual time.
 *
 * Dispatch: each worker is handed up to `concurrency + queueSize` tasks; it runs
 * `concurrency` of them and keeps the rest at hand. A worker with room first takes the tasks
 * meant for it alone, in order; then the `balancer` picks a worker for the next input any
 * worker may run, from the jobs in turn. A broadcast is a barrier on its worker.
 */
export class Engine<T, R> {
  private readonly slots: Array<WorkerSlot<T, R>> = [];
  /** Per worker: tasks only it may run (targeted puts, broadcasts), not yet handed over, in order. Unbounded. */
  private readonly queues: Array<Queue<Targeted<T, R>>> = [];
  /** Open jobs; the dispatcher serves them in turn. */
  private readonly jobs: Array<Job<T, R>> = [];
  /** The job to ask first on the next dispatch, so jobs take turns. */
  private jobCursor = 0;
  /** True while `pump` runs; a nested call only asks for one more pass. */
  private pumping = false;
  private pumpAgain = false;
  /** Set by `drain`: resolves once the last job has ended, or the engine has stopped. */
  private drained: { promise: Promise<void>; resolve(): void } | undefined;
  private stopping: Promise<void> | undefined;
  /** Inputs dropped by overflow strategies, across jobs, since the engine started. */
  private droppedCount = 0;
  /** Restarts within the last minute, against `maxRestarts`. */
  private readonly budget: RestartBudget;
  /** Spans for tasks and attempts, when `@opentelemetry/api` is installed; see `otel/tracing.ts`. */
  readonly tracing: Tracing | undefined;
  private readonly canTake = (index: number): boolean => this.slots[index]!.hasRoom && this.queues[index]!.peek()?.task.sequential !== true;
  private readonly loadOf = (index: number): number => this.slots[index]!.assigned + this.queues[index]!.length;
  /** Picks the worker for the next shared input: the least busy, ties round-robin. */
  private readonly balance = leastBusy();
  /** The bounds of an elastic pool; undefined for a fixed one, which never starts or stops a worker. */
  private readonly scale: ScaleBounds | undefined;
  /** The timer that looks again at idle workers, and when it fires (scheduler time). */
  private idleCheck: { readonly at: number; readonly timer: Subscription } | undefined;

  constructor(
    transport: PortFactory<T, R>,
    private readonly options: EngineOptions & { readonly maxRestarts: number },
    /** How errors name the worker module. */
    workerModule: string,
    private readonly events: EngineEvents<R>,
  ) {
    this.budget = new RestartBudget(options.maxRestarts, 60_000);
    this.tracing = tracingFor(options.name);
    const host: SlotHost<T, R> = {
      options,
      transport,
      workerModule,
      workerName: (index) => this.workerNameOf(index),
      emitted: (value, index) => this.events.emitted(value, index),
      report: (error) => this.events.reported?.(error),
      warn: (error) => this.events.warned(error),
      mayRestart: () => this.budget.take(asyncScheduler.now()),
      replaced: (index) => this.replaced(index),
      elastic: options.minSize < options.size,
      vacated: (index) => this.events.retired?.(index),
      fatal: (error) => this.events.failed(error),
      measured: events.measured && ((ms) => events.measured!(ms)),
      pump: () => this.pump(),
    };
    const { size, minSize, idleTimeout, concurrency, queueSize } = options;
    this.scale = minSize < size ? { min: minSize, max: size, capacity: concurrency + queueSize, idleTimeout } : undefined;
    for (let index = 0; index < size; index++) {
      this.queues.push(new Queue());
      this.slots.push(new WorkerSlot<T, R>(index, host, index < minSize));
    }
    this.ready = Promise.all(this.slots.slice(0, minSize).map((slot) => slot.ready)).then(() => undefined);
  }

  /** Workers running now (or starting). */
  get size(): number {
    let live = 0;
    for (const slot of this.slots) if (slot.live) live++;
    return live;
  }

  /** Workers at most: indices go from 0 to `capacity - 1`. */
  get capacity(): number {
    return this.slots.length;
  }

  /** The indices of the workers running now (or starting). */
  liveWorkers(): number[] {
    return this.slots.filter((slot) => slot.live).map((slot) => slot.index);
  }

  /** Resolves when the workers the engine started with (`minSize`) have run `init`; rejects with the first one's failure. */
  readonly ready: Promise<void>;

  /** Opens a stream of inputs whose results go to `sink`. */
  open(sink: JobSink<R>, options: JobOptions): Job<T, R> {
    const job = new Job<T, R>(this, sink, options);
    this.jobs.push(job);
    return job;
  }

  /** Per-worker counts, of the workers running now. */
  load(): WorkerLoad[] {
    return this.slots
      .filter((slot) => slot.live)
      .map((slot) => ({
        index: slot.index,
        waiting: this.queues[slot.index]!.length,
        host: (slot.port as Partial<Located> | undefined)?.location,
        ...slot.counts,
      }));
  }

  /** Measures every worker that can measure itself; by worker index (none where no worker runs). */
  sampleWorkers(): Promise<WorkerSample[]> {
    const none: WorkerSample = { elu: undefined, figures: undefined };
    return Promise.all(this.slots.map((slot) => (slot.port && canSample(slot.port)?.sample()) ?? Promise.resolve(none)));
  }

  /** For each worker whose loop has not turned for `threshold` ms: how long, and the task whose code runs there. */
  blocked(threshold: number): Array<{ readonly index: number; readonly ms: number; readonly task: Task<T> | undefined }> {
    const found = [];
    for (const slot of this.slots) {
      const blocked = slot.port && canWatch(slot.port)?.blocked();
      if (blocked && blocked.ms >= threshold) found.push({ index: slot.index, ms: blocked.ms, task: slot.taskOf(blocked.observer) });
    }
    return found;
  }

  /** Inputs not yet handed to a worker, across jobs and workers: the input buffer. */
  get waiting(): number {
    let waiting = 0;
    for (const job of this.jobs) waiting += job.waiting;
    for (const queue of this.queues) waiting += queue.length;
    return waiting;
  }

  /** Inputs dropped by overflow strategies since the engine started. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** @internal {@link JobHost}: an elastic pool may start a worker for inputs that wait, so it looks at every one. */
  get watchesBacklog(): boolean {
    return this.scale !== undefined;
  }

  /** @internal {@link JobHost} */
  noteDropped(): void {
    this.droppedCount++;
  }

  /** @internal {@link JobHost} */
  enqueue(target: number, job: Job<T, R>, task: Task<T>, first = false): void {
    const queue = this.queues[target]!;
    if (first) queue.unshift({ job, task });
    else queue.push({ job, task });
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
        if (this.scale && !this.stopping) this.rescale(this.scale);
      } while (this.pumpAgain && !this.stopping);
    } finally {
      this.pumping = false;
    }
  }

  /** @internal {@link JobHost} */
  detach(job: Job<T, R>): void {
    const at = this.jobs.indexOf(job);
    if (at >= 0) this.jobs.splice(at, 1);
    if (this.drained && this.jobs.length === 0) this.drained.resolve();
  }

  /** Resolves once every open job has ended (jobs opened meanwhile included), or the engine has stopped. */
  drain(): Promise<void> {
    if (!this.drained) {
      let resolve!: () => void;
      const promise = new Promise<void>((done) => (resolve = done));
      this.drained = { promise, resolve };
      if (this.jobs.length === 0 || this.stopping) resolve();
    }
    return this.drained.promise;
  }

  /**
   * Stops every worker at once. Open jobs are closed: the `settled` callback of each of their
   * unfinished tasks gets `reason`, if one is given. Idempotent: a second call returns the first one's Promise.
   */
  terminate(reason?: LoopPoolError): Promise<void> {
    this.stopping ??= this.stop(reason);
    return this.stopping;
  }

  /** `<pool name>#<index>`. */
  workerNameOf(index: number): string {
    return `${this.options.name}#${index}`;
  }

  private async stop(reason: LoopPoolError | undefined): Promise<void> {
    this.idleCheck?.timer.unsubscribe();
    this.idleCheck = undefined;
    for (const job of [...this.jobs]) job.close(reason);
    for (const queue of this.queues) for (const { job, task } of queue.drain()) job.dropTargeted(task, reason);
    this.drained?.resolve();
    await Promise.all(this.slots.map((slot) => slot.stop()));
  }

  /** A replacement worker took over, or a new one started: queue what it must run first, in one go, before any of it is handed over. */
  private replaced(index: number, how: 'restarted' | 'started' = 'restarted'): void {
    const wasPumping = this.pumping;
    this.pumping = true;
    try {
      this.events[how]?.(index);
    } finally {
      this.pumping = wasPumping;
    }
  }

  /**
   * An elastic pool: starts the workers that waiting tasks need and stops those idle for
   * `idleTimeout`, as {@link planScaling} decides, and sets the timer that looks again.
   */
  private rescale(bounds: ScaleBounds): void {
    if (!this.mayRescale(bounds)) return;
    const workers: WorkerFacts[] = this.slots.map((slot) => ({
      live: slot.live,
      assigned: slot.assigned,
      targeted: this.queues[slot.index]!.length,
      idleSince: slot.idleSince,
      unserved: slot.unserved,
    }));
    const waiting = this.unplaced(bounds.capacity * this.slots.length, roomOf(workers, bounds.capacity));
    const plan = planScaling({ workers, waiting, now: asyncScheduler.now() }, bounds);
    for (const index of plan.stop) {
      this.slots[index]!.retire();
      this.events.retired?.(index);
    }
    for (const index of plan.start) {
      this.slots[index]!.start();
      this.replaced(index, 'started');
      this.pumpAgain = true; // it may take tasks now
    }
    if (plan.recheckAt !== this.idleCheck?.at) {
      this.idleCheck?.timer.unsubscribe();
      this.idleCheck =
        plan.recheckAt === undefined
          ? undefined
          : { at: plan.recheckAt, timer: asyncScheduler.schedule(() => this.recheck(), Math.max(0, plan.recheckAt - asyncScheduler.now())) };
    }
  }

  /**
   * Whether the policy could decide anything now (a cheap look, as the engine pumps on every
   * task's end): a worker not running has tasks for it alone, every running worker is full and
   * more may run, or more than `min` run and one of them holds nothing.
   */
  private mayRescale(bounds: ScaleBounds): boolean {
    let live = 0;
    let room = false;
    let idle = false;
    for (const slot of this.slots) {
      const targeted = this.queues[slot.index]!.length;
      if (!slot.live) {
        if (targeted > 0) return true;
        continue;
      }
      live++;
      room ||= this.canTake(slot.index);
      idle ||= targeted === 0 && (slot.idleSince !== undefined || slot.unserved);
    }
    return (!room && live < bounds.max) || (idle && live > bounds.min);
  }

  /** The idle timer fired. */
  private recheck(): void {
    this.idleCheck = undefined;
    this.pump();
  }

  /**
   * Inputs any worker may run that could start now but found no worker with room. When no
   * running worker can take one and more may start, a job that pulls its inputs is asked for
   * one more than the `room` the running workers still hold (a starting worker's, which it
   * fills once ready), so that a pulled source grows the pool at once, as a pushed one does.
   * Counts up to `enough`.
   */
  private unplaced(enough: number, room: number): number {
    const full = !this.slots.some((slot, index) => slot.live && this.canTake(index));
    const mayGrow = full && this.size < this.slots.length;
    let waiting = 0;
    for (const job of this.jobs) {
      if (waiting >= enough) break; // as many as every worker would hold: counting more changes nothing
      if (job.waiting === 0 && !mayGrow) continue;
      if (mayGrow) job.pullAhead(room - waiting + 1);
      if (job.nextStartable()) waiting += job.waiting;
    }
    return waiting;
  }

  private dispatch(): void {
    while (!this.stopping && (this.dispatchTargeted() || this.dispatchShared()));
  }

  /** Hands over one task queued for a specific worker that has room; false if none can go. */
  private dispatchTargeted(): boolean {
    for (const slot of this.slots) {
      if (!slot.hasRoom) continue;
      const queue = this.queues[slot.index]!;
      const head = queue.peek();
      if (!head) continue;
      if (head.job.closed) {
        queue.shift();
        head.job.dropTargeted(head.task);
        return true;
      }
      // A broadcast waits until its worker has finished everything handed over before it.
      if (!head.job.mayStart(head.task) || (head.task.sequential && slot.assigned > 0)) continue;
      queue.shift();
      head.job.start(head.task, slot);
      return true;
    }
    return false;
  }

  /** Starts one input that any worker may run, on the worker the balancer picks; false if none can start. */
  private dispatchShared(): boolean {
    const size = this.slots.length;
    let room = false;
    for (let index = 0; index < size && !room; index++) room = this.canTake(index);
    if (!room) return false;
    const count = this.jobs.length;
    for (let offset = 0; offset < count; offset++) {
      const at = (this.jobCursor + offset) % count;
      const job = this.jobs[at];
      if (!job) return true; // a job ended while asked for input (its source ran out): look again
      const task = job.nextStartable();
      if (task) {
        this.jobCursor = (at + 1) % count;
        const picked = this.balance(size, this.canTake, this.loadOf);
        if (picked < 0) return false;
        job.start(task, this.slots[picked]!);
        return true;
      }
    }
    return false;
  }
}
