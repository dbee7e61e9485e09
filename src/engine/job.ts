import type { Observer, Subscription } from 'rxjs';
import { BufferOverflowError, type LoopPoolError } from '../errors';
import type { OverflowOptions } from '../options';
import type { WorkerPort } from '../transport/transport';
import { taskError } from './failures';
import { Queue } from './queue';
import { ReorderBuffer, type OrderedSink } from './reorder';

/** Where a job's results and its end go: the operator's subscriber, or the pool's result buffer. */
export interface JobSink<R> {
  next(value: R, workerIndex: number): void;
  error(error: unknown): void;
  complete(): void;
  readonly closed: boolean;
}

/** What a job needs from the engine that runs it. */
export interface JobHost<T, R> {
  /** Queues a task that only worker `target` may run. */
  enqueue(target: number, job: Job<T, R>, task: Task<T>): void;
  /** Called when a task of this job ends, whichever way, so the worker can take another. */
  release(slot: WorkerSlot<T, R>, task: Task<T>): void;
  /** Asks the engine to start waiting tasks. */
  pump(): void;
  /** Removes a job that has ended. */
  detach(job: Job<T, R>): void;
  /** Counts an input dropped by an overflow strategy. */
  noteDropped(): void;
}

/** A worker as the engine tracks it. */
export interface WorkerSlot<T, R> {
  readonly index: number;
  readonly port: WorkerPort<T, R>;
  /**
   * Tasks handed to the worker and not finished: running there (the first `concurrency`) or
   * waiting at its gate. Never above `concurrency + queueSize`.
   */
  assigned: number;
  /** Tasks that only this worker may run (targeted puts, broadcasts), not yet handed over, in order. */
  readonly queue: Queue<{ readonly job: Job<T, R>; readonly task: Task<T> }>;
  /** True while a sequential task (a broadcast) runs on this worker. */
  sequentialRunning: boolean;
}

/** How a job orders its results and what one failure means. */
export interface JobOptions {
  readonly ordered: boolean;
  readonly bufferSize: number;
  /**
   * `true` (a pipeline): the first failure fails the job and cancels the rest.
   * `false` (the pool's puts): a failure ends only its task, through `settled`.
   */
  readonly failFast: boolean;
  /** A further condition for starting any task, such as room in the pool's result buffer. */
  readonly mayStart?: () => boolean;
  /** A bound on `pending`, for inputs that are pushed; unbounded without it. */
  readonly overflow?: Readonly<OverflowOptions> | undefined;
}

/**
 * Where a pulled job's inputs come from: asked for more whenever its pending inputs run low,
 * it pushes them into the job (now, or when they arrive) and ends it when it has no more.
 */
export interface Feed {
  /** Called when the job could use another input. */
  demand(): void;
  /** The job has ended: stop reading. */
  close(): void;
}

/** An input on its way through the pool. */
export interface Task<T> {
  /** Position of the input in its job, from 0. */
  readonly index: number;
  readonly input: T;
  /** Called once when the task has ended: with no argument when it completed. */
  readonly settled?: ((error?: LoopPoolError) => void) | undefined;
  /**
   * A broadcast: a barrier on its worker. It starts once every task handed over before it
   * has finished, and nothing else is handed over until it has finished.
   */
  readonly sequential?: boolean | undefined;
}

/** Where an input goes and who hears of its end. */
export interface PushOptions {
  /** The only worker that may run it. */
  readonly target?: number | undefined;
  readonly settled?: Task<unknown>['settled'];
  readonly sequential?: boolean | undefined;
}

/**
 * One stream of inputs through the pool: a subscription of the operator, or the pool's own
 * `put`s. Numbers its inputs, keeps those not yet started, and turns task results into its
 * output, in order or not. It completes when its inputs have ended and every task has
 * finished.
 */
export class Job<T, R> implements OrderedSink<R> {
  /** Inputs any worker may run, not yet started, in input order. Unbounded: the source pushes. */
  private readonly pending = new Queue<Task<T>>();
  /** Index the next input gets. */
  private nextIndex = 0;
  /** Tasks handed to workers and not yet finished; at most size × (concurrency + queueSize). */
  private readonly running = new Set<TaskRun<T, R>>();
  /** Targeted tasks queued on a worker and not yet started. */
  private targeted = 0;
  /** In ordered mode, results that wait for an earlier task; at most `bufferSize`, plus what running tasks add. */
  private readonly order: ReorderBuffer<R> | undefined;
  /** Set when no more inputs will come. */
  private inputsEnded = false;
  /** Set in ordered mode once a task has failed: later inputs never start. */
  private halted = false;
  /** Inputs dropped by the overflow strategy. */
  private droppedCount = 0;
  /** The pulled source, if the job pulls its inputs. */
  private feed: Feed | undefined;
  private ended = false;

  constructor(
    private readonly host: JobHost<T, R>,
    private readonly sink: JobSink<R>,
    private readonly options: JobOptions,
  ) {
    this.order = options.ordered ? new ReorderBuffer(this) : undefined;
  }

  /** True once the job has ended or its subscriber has gone. */
  get closed(): boolean {
    return this.ended || this.sink.closed;
  }

  /** Inputs waiting for any worker. */
  get waiting(): number {
    return this.pending.length;
  }

  /** Tasks handed to workers and not yet finished. */
  get active(): number {
    return this.running.size;
  }

  /** True once no more inputs will come. */
  get inputsDone(): boolean {
    return this.inputsEnded;
  }

  /** Inputs dropped by the overflow strategy so far. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Makes the job pull its inputs from `feed`, when it has room for them. */
  pullFrom(feed: Feed): void {
    this.feed = feed;
    this.host.pump();
  }

  /**
   * Accepts an input. With a `target`, only that worker runs it.
   * @returns the input's index.
   */
  push(input: T, options: PushOptions = {}): number {
    const task: Task<T> = { index: this.nextIndex++, input, settled: options.settled, sequential: options.sequential };
    if (options.target === undefined) {
      if (!this.makeRoom(task.index)) return task.index;
      this.pending.push(task);
    } else {
      this.targeted++;
      this.host.enqueue(options.target, this, task);
    }
    this.host.pump();
    return task.index;
  }

  /** Applies the overflow strategy before an input joins `pending`; false if the input is not taken. */
  private makeRoom(index: number): boolean {
    const overflow = this.options.overflow;
    if (!overflow || this.pending.length < overflow.size) return true;
    if (overflow.strategy === 'error') {
      this.error(new BufferOverflowError(overflow.size, index));
      return false;
    }
    this.droppedCount++;
    this.host.noteDropped();
    if (overflow.strategy === 'drop-newest') return false;
    this.pending.shift();
    return true;
  }

  /** No more inputs will come; the job completes once its tasks have finished. */
  end(): void {
    if (this.inputsEnded) return;
    this.inputsEnded = true;
    this.feed?.close();
    this.completeIfDone();
  }

  /** The next input any worker may start now, if there is one; ordering may hold it back. */
  nextStartable(): Task<T> | undefined {
    if (this.pending.length === 0 && this.feed && !this.inputsEnded && !this.closed && (this.options.mayStart?.() ?? true)) {
      this.feed.demand();
    }
    const next = this.pending.peek();
    return next && this.mayStart(next) ? next : undefined;
  }

  /** Whether `task` may start now. */
  mayStart(task: Task<T>): boolean {
    if (this.halted || this.closed || !(this.options.mayStart?.() ?? true)) return false;
    return !this.order || this.order.size < this.options.bufferSize || task.index === this.order.head;
  }

  /** Starts `task` on `slot`: the next pending input, or a targeted task from the slot's queue. */
  start(task: Task<T>, slot: WorkerSlot<T, R>): void {
    if (task === this.pending.peek()) this.pending.shift();
    else this.targeted--;
    slot.assigned++;
    if (task.sequential) slot.sequentialRunning = true;
    const run = new TaskRun(this, slot, task);
    this.running.add(run);
    const subscription = slot.port.run(task.input).subscribe(run);
    if (this.running.has(run)) run.subscription = subscription;
  }

  /**
   * Stops everything at once: running tasks are cancelled and pending ones dropped. With a
   * `reason`, each of their `settled` callbacks gets it, and so does the sink's `error`.
   */
  close(reason?: LoopPoolError): void {
    if (this.ended) return;
    this.ended = true;
    this.feed?.close();
    const dropped = this.pending.drain();
    // Newest first: tasks waiting at a worker are withdrawn before a running one frees its place.
    const running = [...this.running].reverse();
    this.running.clear();
    for (const run of running) {
      run.subscription?.unsubscribe();
      this.host.release(run.slot, run.task);
    }
    this.host.detach(this);
    if (!reason) return;
    for (const task of [...dropped, ...running.map((run) => run.task)]) task.settled?.(reason);
    if (!this.sink.closed) this.sink.error(reason);
  }

  /** Drops a targeted task that never started because the job closed; see {@link close}. */
  dropTargeted(task: Task<T>, reason?: LoopPoolError): void {
    this.targeted--;
    if (reason) task.settled?.(reason);
  }

  /** {@link OrderedSink}: a result, in output order. */
  next(value: R, workerIndex = -1): void {
    if (!this.closed) this.sink.next(value, workerIndex);
  }

  /** {@link OrderedSink}: the job fails; everything else it has is cancelled. */
  error(error: unknown): void {
    if (this.closed) return;
    this.close();
    this.sink.error(error);
  }

  /** @internal A result of `run`. */
  resultOf(run: TaskRun<T, R>, value: R): void {
    if (this.closed) return;
    if (this.order) this.order.next(run.task.index, value);
    else this.sink.next(value, run.slot.index);
  }

  /** @internal `run` completed. */
  completed(run: TaskRun<T, R>): void {
    if (!this.finish(run)) return;
    run.task.settled?.();
    this.order?.complete(run.task.index);
    this.completeIfDone();
    this.host.pump();
  }

  /** @internal `run` failed. */
  failed(run: TaskRun<T, R>, failure: unknown): void {
    if (!this.finish(run)) return;
    const error = taskError(failure, run.task.index, run.slot.index, run.task.input);
    run.task.settled?.(error);
    if (!this.options.failFast) {
      this.completeIfDone();
    } else if (this.order) {
      this.halted = true;
      this.order.error(run.task.index, error);
    } else {
      this.error(error);
    }
    this.host.pump();
  }

  private finish(run: TaskRun<T, R>): boolean {
    if (!this.running.delete(run)) return false;
    this.host.release(run.slot, run.task);
    return !this.closed;
  }

  private completeIfDone(): void {
    if (this.closed || !this.inputsEnded || this.running.size > 0 || this.targeted > 0) return;
    if (this.pending.length > 0 && !this.halted) return;
    if (this.order && this.order.size > 0) return;
    this.close();
    this.sink.complete();
  }
}

/** One task on its way through a worker; observes the port's result stream. */
class TaskRun<T, R> implements Observer<R> {
  /** Set after `subscribe` returns, unless the task has already finished. */
  subscription: Subscription | undefined;

  constructor(
    private readonly job: Job<T, R>,
    readonly slot: WorkerSlot<T, R>,
    readonly task: Task<T>,
  ) {}

  next(value: R): void {
    this.job.resultOf(this, value);
  }
  error(failure: unknown): void {
    this.job.failed(this, failure);
  }
  complete(): void {
    this.job.completed(this);
  }
}
