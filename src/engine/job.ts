import { BufferOverflowError, type LoopPoolError } from '../errors';
import { noReceipt, type Receipt } from './credit';
import type { TaskTrace, Tracing } from '../otel/tracing';
import { Backlog, newTask } from './backlog';
import { ReorderBuffer, type OrderedSink } from './reorder';
import type { Feed, HandedTask, JobOptions, JobSink, PushOptions, RunOwner, Task, TaskTaker } from './types';
import type { Settled } from '../results';

/** What a job needs from the engine that runs it. */
export interface JobHost<T, R> {
  /** Queues a task that only worker `target` may run; `first` puts it before the others. */
  enqueue(target: number, job: Job<T, R>, task: Task<T>, first?: boolean): void;
  /** Asks the engine to start waiting tasks. */
  pump(): void;
  /** Removes a job that has ended. */
  detach(job: Job<T, R>): void;
  /** Counts an input dropped by an overflow strategy. */
  noteDropped(): void;
  /** The pool's tracing, when `@opentelemetry/api` is installed. */
  readonly tracing?: Tracing | undefined;
  /**
   * Whether a longer line of waiting inputs can change what {@link pump} does: in an elastic
   * pool it can start a worker. Otherwise an input that joins behind others needs no pump.
   */
  readonly watchesBacklog?: boolean;
}

/**
 * One stream of inputs through the pool: a subscription of the operator, or the pool's own
 * `put`s. Numbers its inputs, keeps those not yet started, and turns task results into its
 * output, in order or not. It completes when its inputs have ended and every task has
 * finished. What happens to a task on its worker is the worker slot's business; the job hears
 * of each task's end (or that it goes again) through {@link RunOwner}.
 */
export class Job<T, R> implements OrderedSink<R>, RunOwner<T, R> {
  /** Inputs any worker may run, not yet started, in input order. Unbounded: the source pushes. */
  private readonly pending = new Backlog<T>();
  /** Tasks that go again after their worker ended, in input order: they start before anything in `pending`. */
  private readonly again: Array<Task<T>> = [];
  /** Index the next input gets. */
  private nextIndex = 0;
  /** Tasks handed to workers and not yet ended, with the handle to cancel each; at most size × (concurrency + queueSize). */
  private readonly running = new Map<Task<T>, HandedTask | undefined>();
  /** Targeted tasks queued on a worker and not yet started. */
  private targeted = 0;
  /** In ordered mode, results that wait for an earlier task; at most `bufferSize`, plus what running tasks add. */
  private readonly order: ReorderBuffer<R> | undefined;
  /** Set when no more inputs will come. */
  private inputsEnded = false;
  /** In ordered, failing-fast mode, the index of the first input that failed: later inputs never start. */
  private haltedAt = Infinity;
  /** The pulled source, if the job pulls its inputs. */
  private feed: Feed | undefined;
  private ended = false;

  constructor(
    private readonly host: JobHost<T, R>,
    private readonly sink: JobSink<R>,
    private readonly options: JobOptions,
  ) {
    this.order = options.ordered ? new ReorderBuffer(this) : undefined;
    this.context = host.tracing?.active();
  }

  /** The trace context active where the job was opened (a pipeline's subscription): its tasks' parent, unless one is active at `push`. */
  private readonly context: unknown;

  /** True once the job has ended or its subscriber has gone. */
  get closed(): boolean {
    return this.ended || this.sink.closed;
  }

  /** Inputs waiting for any worker. */
  get waiting(): number {
    return this.pending.length + this.again.length;
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
  push(input: T, options?: PushOptions): number {
    const index = this.nextIndex++;
    const trace = this.host.tracing?.task(index, this.context);
    const target = options?.target;
    if (target !== undefined) {
      this.targeted++;
      this.host.enqueue(target, this, newTask(index, input, trace, options), options?.first);
      this.host.pump();
      return index;
    }
    const ahead = this.waiting;
    if (!this.makeRoom(index, trace)) return index;
    this.pending.push(index, input, trace, options);
    // An input that joins a line waits for those before it, and nothing that decides whether
    // they may start (room, acks, order) has changed: every change of those pumps, and the
    // last pump left them waiting. So a source that pushes a million inputs at once pumps
    // for the first ones only. The engine is pumped when the line was empty, when its head was
    // dropped for room (`drop-oldest`), and in an elastic pool, which a longer line may grow.
    if (ahead === 0 || this.waiting <= ahead || this.host.watchesBacklog) this.host.pump();
    return index;
  }

  /** No more inputs will come; the job completes once its tasks have finished. */
  end(): void {
    if (this.inputsEnded) return;
    this.inputsEnded = true;
    this.feed?.close();
    this.completeIfDone();
  }

  /** The next input any worker may start now, if there is one: tasks going again first, in input order. */
  nextStartable(): Task<T> | undefined {
    this.pullAhead(1);
    const next = this.again[0] ?? this.pending.peek();
    return next && this.mayStart(next) ? next : undefined;
  }

  /**
   * A job that pulls its inputs reads them until `count` wait, as far as its source gives them
   * now (a sync iterable at once, an async one a read at a time); a pushed job has nothing to do.
   * The engine asks for more than one when workers are starting: they take inputs once ready.
   */
  pullAhead(count: number): void {
    while (this.feed && this.waiting < count && !this.inputsEnded && !this.closed && (this.options.mayStart?.() ?? true)) {
      const before = this.waiting;
      this.feed.demand();
      if (this.waiting === before) return; // nothing now: the source ended, failed, or reads asynchronously
    }
  }

  /** Whether `task` may start now. */
  mayStart(task: Task<T>): boolean {
    if (task.index > this.haltedAt || this.closed || !(this.options.mayStart?.() ?? true)) return false;
    return !this.order || this.order.size < this.options.bufferSize || task.index === this.order.head;
  }

  /** Hands `task` (from {@link nextStartable}, or a targeted task from its worker's queue) to `taker`. */
  start(task: Task<T>, taker: TaskTaker<T, R>): void {
    if (task === this.again[0]) this.again.shift();
    else if (this.pending.isFirst(task)) this.pending.shift();
    else this.targeted--;
    this.running.set(task, undefined);
    const handed = taker.handOver(this, task);
    if (this.running.has(task)) this.running.set(task, handed);
  }

  /**
   * Stops everything at once: running tasks are cancelled and pending ones dropped. With a
   * `reason`, each of their `settled` callbacks gets it, and so does the sink's `error`.
   */
  close(reason?: LoopPoolError): void {
    if (this.ended) return;
    this.ended = true;
    this.feed?.close();
    // The inputs that waited and whose end no one hears of (no trace, no `settled`) end unseen.
    const dropped = [...this.again.splice(0), ...this.pending.clear()];
    // Newest first: tasks waiting at a worker are withdrawn before a running one frees its place.
    const running = [...this.running].reverse();
    this.running.clear();
    for (const [, handed] of running) handed?.cancel();
    for (const task of dropped) task.trace?.end('cancelled', reason);
    this.host.detach(this);
    if (!reason) return;
    for (const task of [...dropped, ...running.map(([task]) => task)]) task.settled?.(reason);
    if (!this.sink.closed) this.sink.error(reason);
  }

  /** Drops a targeted task that never started because the job closed; see {@link close}. */
  dropTargeted(task: Task<T>, reason?: LoopPoolError): void {
    this.targeted--;
    task.trace?.end('cancelled', reason);
    if (reason) task.settled?.(reason);
  }

  /** {@link OrderedSink}: a result, in output order. */
  next(value: R, receipt: Receipt): void {
    if (!this.closed) this.sink.next(value, -1, receipt);
  }

  /** {@link OrderedSink}: the job fails; everything else it has is cancelled. */
  error(error: unknown): void {
    if (this.closed) return;
    this.close();
    this.sink.error(error);
  }

  /** {@link RunOwner}: a result of `task`. */
  result(task: Task<T>, value: R, workerIndex: number, receipt: Receipt = noReceipt): void {
    if (this.closed || task.quiet || !this.running.has(task)) return receipt.taken();
    const { index, input } = task;
    const output = this.options.settle ? (({ status: 'fulfilled', value, input, index } satisfies Settled<T, R>) as R) : value;
    if (this.order) this.order.next(index, output, receipt);
    else this.sink.next(output, workerIndex, receipt);
  }

  /** {@link RunOwner}: `task` completed. */
  completed(task: Task<T>): void {
    if (!this.running.delete(task) || this.closed) return;
    task.settled?.();
    this.order?.complete(task.index);
    this.completeIfDone();
    this.host.pump();
  }

  /** {@link RunOwner}: `task` failed for good. */
  failed(task: Task<T>, error: LoopPoolError, workerIndex: number): void {
    if (!this.running.delete(task) || this.closed) return;
    task.settled?.(error);
    if (this.options.settle) {
      const record = ({ status: 'rejected', reason: error, input: task.input, index: task.index } satisfies Settled<T, R>) as R;
      if (this.order) {
        this.order.next(task.index, record);
        this.order.complete(task.index);
      } else this.sink.next(record, workerIndex, noReceipt);
      this.completeIfDone();
    } else if (!this.options.failFast) {
      this.completeIfDone();
    } else if (this.order) {
      // Later inputs never start; earlier ones (a retry of the head, say) still finish first.
      this.haltedAt = Math.min(this.haltedAt, task.index);
      this.order.error(task.index, error);
    } else {
      this.error(error);
    }
    this.host.pump();
  }

  /** {@link RunOwner}: `task` goes again, first in line, in input order. */
  retry(task: Task<T>): void {
    if (!this.running.delete(task) || this.closed) return;
    if (task.target !== undefined) {
      this.targeted++;
      this.host.enqueue(task.target, this, task, true);
    } else {
      let at = this.again.length;
      while (at > 0 && this.again[at - 1]!.index > task.index) at--;
      this.again.splice(at, 0, task);
    }
  }

  /**
   * Applies the overflow strategy before input `index` joins `pending`; false if it is not
   * taken. The span of an input dropped ends `dropped`; that of one refused with an error,
   * `failed`. In ordered mode a dropped input counts as finished with no result, so the order passes it.
   */
  private makeRoom(index: number, trace: TaskTrace | undefined): boolean {
    const overflow = this.options.overflow;
    if (!overflow || this.pending.length < overflow.size) return true;
    if (overflow.strategy === 'error') {
      const error = new BufferOverflowError(overflow.size, index);
      trace?.end('failed', error);
      this.error(error);
      return false;
    }
    this.host.noteDropped();
    // In ordered mode a dropped input's place is passed over, or the inputs after it wait for ever.
    if (overflow.strategy === 'drop-newest') {
      trace?.end('dropped');
      this.order?.complete(index);
      return false;
    }
    const dropped = this.pending.shift();
    if (dropped) {
      dropped.trace?.end('dropped');
      this.order?.complete(dropped.index);
    }
    return true;
  }

  private completeIfDone(): void {
    if (this.closed || !this.inputsEnded || this.running.size > 0 || this.targeted > 0) return;
    if (this.waiting > 0 && this.haltedAt === Infinity) return;
    if (this.order && this.order.size > 0) return;
    this.close();
    this.sink.complete();
  }
}
