import type { Observer, Subscription } from 'rxjs';
import { BufferOverflowError, type LoopPoolError } from '../errors';
import type { TaskFailure } from '../transport/transport';
import { taskError } from './failures';
import { Queue } from './queue';
import { ReorderBuffer, type OrderedSink } from './reorder';
import type { WorkerSlot } from './slot';
import type { Feed, JobOptions, JobSink, PushOptions, Settled, Task } from './types';

/** What a job needs from the engine that runs it. */
export interface JobHost<T, R> {
  /** Tasks are retried this many times after their worker crashed under them. */
  readonly retries: number;
  /** Queues a task that only worker `target` may run; `first` puts it before the others. */
  enqueue(target: number, job: Job<T, R>, task: Task<T>, first?: boolean): void;
  /** Records that `run` was handed to its worker; called before it is sent. */
  handOver(run: TaskRun<T, R>): void;
  /** Called when a task ends, whichever way, so the worker can take another. */
  release(run: TaskRun<T, R>): void;
  /**
   * Whether `run` was running when its worker crashed (not waiting at the worker).
   * `unseenReady`: the worker had become ready, but died before the engine heard of it.
   */
  wasRunning(run: TaskRun<T, R>, unseenReady: boolean): boolean;
  /** Milliseconds a task may run; Infinity when unlimited. */
  readonly taskTimeout: number;
  /** Asks the engine to start waiting tasks. */
  pump(): void;
  /** Removes a job that has ended. */
  detach(job: Job<T, R>): void;
  /** Counts an input dropped by an overflow strategy. */
  noteDropped(): void;
  /** `run` has ended for good: completed, or failed with `error` (which is reported). */
  record(run: TaskRun<T, R>, error?: LoopPoolError): void;
}

/**
 * One stream of inputs through the pool: a subscription of the operator, or the pool's own
 * `put`s. Numbers its inputs, keeps those not yet started, and turns task results into its
 * output, in order or not. It completes when its inputs have ended and every task has
 * finished. A task whose worker crashed under it is retried (`retries`) before it fails.
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
    const { target, settled, sequential, first } = options;
    const task: Task<T> = { index: this.nextIndex++, input, target, settled, sequential, attempts: 0 };
    if (target === undefined) {
      if (!this.makeRoom(task.index)) return task.index;
      this.pending.push(task);
    } else {
      this.targeted++;
      this.host.enqueue(target, this, task, first);
    }
    this.host.pump();
    return task.index;
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

  /** Hands `task` to `slot`'s worker: the next pending input, or a targeted task from the slot's queue. */
  start(task: Task<T>, slot: WorkerSlot<T, R>): void {
    if (task === this.pending.peek()) this.pending.shift();
    else this.targeted--;
    const run = new TaskRun(this, slot, task);
    this.running.add(run);
    this.host.handOver(run);
    const subscription = slot.port.run(task.input, run).subscribe(run);
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
      this.host.release(run);
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
    const { index, input } = run.task;
    this.emit(run, this.options.settle ? (settled({ status: 'fulfilled', value, input, index }) as R) : value);
  }

  /** @internal `run` completed. */
  completed(run: TaskRun<T, R>): void {
    if (!this.finish(run)) return;
    this.host.record(run);
    run.task.settled?.();
    this.order?.complete(run.task.index);
    this.completeIfDone();
    this.host.pump();
  }

  /**
   * @internal `run` failed: retried if its worker crashed under it and it has retries left;
   * a task that blocked an unresponsive worker fails with `TaskTimeoutError`.
   */
  failed(run: TaskRun<T, R>, failure: unknown): void {
    if (blockedItsWorker(failure, run)) failure = { kind: 'timeout', timeout: this.host.taskTimeout };
    const crashed = (failure as TaskFailure | undefined)?.kind === 'crashed';
    const ran = crashed && this.host.wasRunning(run, (failure as { unseenReady?: boolean }).unseenReady === true);
    if (!this.finish(run)) return;
    const { task } = run;
    if (crashed && (!ran || task.attempts < this.host.retries)) {
      if (ran) task.attempts++;
      this.retry(task);
      this.host.pump();
      return;
    }
    const error = taskError(failure, task.index, run.slot.index, task.input);
    task.settled?.(error);
    this.host.record(run, error);
    if (this.options.settle) {
      this.emit(run, settled({ status: 'rejected', reason: error, input: task.input, index: task.index }) as R);
      this.order?.complete(task.index);
      this.completeIfDone();
    } else if (!this.options.failFast) {
      this.completeIfDone();
    } else if (this.order) {
      this.halted = true;
      this.order.error(task.index, error);
    } else {
      this.error(error);
    }
    this.host.pump();
  }

  /** @internal `run` ran past `taskTimeout` on a worker that still answers: cancel it (its `ctx.signal` aborts) and fail it. */
  expire(run: TaskRun<T, R>): void {
    if (!this.running.has(run)) return;
    run.subscription?.unsubscribe();
    this.failed(run, { kind: 'timeout', timeout: this.host.taskTimeout });
  }

  /** Puts a task back, first in line: it runs again before anything that came after it. */
  private retry(task: Task<T>): void {
    if (task.target === undefined) {
      this.pending.unshift(task);
    } else {
      this.targeted++;
      this.host.enqueue(task.target, this, task, true);
    }
  }

  private emit(run: TaskRun<T, R>, value: R): void {
    if (this.order) this.order.next(run.task.index, value);
    else this.sink.next(value, run.slot.index);
  }

  /** Applies the overflow strategy before an input joins `pending`; false if the input is not taken. */
  private makeRoom(index: number): boolean {
    const overflow = this.options.overflow;
    if (!overflow || this.pending.length < overflow.size) return true;
    if (overflow.strategy === 'error') {
      this.error(new BufferOverflowError(overflow.size, index));
      return false;
    }
    this.host.noteDropped();
    if (overflow.strategy === 'drop-newest') return false;
    this.pending.shift();
    return true;
  }

  private finish(run: TaskRun<T, R>): boolean {
    if (!this.running.delete(run)) return false;
    this.host.release(run);
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

/** One task handed to a worker; observes the port's result stream. */
export class TaskRun<T, R> implements Observer<R> {
  /** Set after `subscribe` returns, unless the task has already finished. */
  subscription: Subscription | undefined;
  /**
   * Set when the task runs, as far as this thread can tell: it was among the first
   * `concurrency` handed to a worker that answers. A task that never ran is retried freely
   * after a crash.
   */
  started = false;
  /** Set when the task ends while it waits at its worker's gate: the slot skips it. */
  gone = false;
  /** When the task started (`performance.now()`), if it is one of those timed; else 0. */
  startedAt = 0;
  /** When the task times out (scheduler time); pushed back while its worker is being probed. */
  deadline = 0;
  /** The `taskTimeout` clock, started with the task (not while it waits at the worker). */
  clock: Subscription | undefined;

  constructor(
    readonly job: Job<T, R>,
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

function settled<T, R>(record: Settled<T, R>): Settled<T, R> {
  return record;
}

/** Whether `run` is the task whose synchronous code kept its killed worker from answering. */
function blockedItsWorker<T, R>(failure: unknown, run: TaskRun<T, R>): boolean {
  const known = failure as TaskFailure | undefined;
  if (known?.kind !== 'crashed' || known.reason !== 'unresponsive') return false;
  return known.stuck ?? run === run.slot.trigger;
}
