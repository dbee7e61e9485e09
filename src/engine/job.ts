import type { Observer, Subscription } from 'rxjs';
import type { WorkerPort } from '../transport/transport';
import { taskError } from './failures';
import { Queue } from './queue';
import { ReorderBuffer, type OrderedSink } from './reorder';

/** Where a job's results and its end go: in practice, the operator's subscriber. */
export interface JobSink<R> {
  next(value: R): void;
  error(error: unknown): void;
  complete(): void;
  readonly closed: boolean;
}

/** What a job needs from the engine that runs it. */
export interface JobHost<T, R> {
  /** Called when a task of this job ends, whichever way, so the worker can take another. */
  release(slot: WorkerSlot<T, R>): void;
  /** Asks the engine to start waiting tasks. */
  pump(): void;
  /** Removes a finished or abandoned job. */
  detach(job: Job<T, R>): void;
}

/** A worker as the engine tracks it. */
export interface WorkerSlot<T, R> {
  readonly index: number;
  readonly port: WorkerPort<T, R>;
  /** Tasks running on this worker; never above `concurrency`. */
  inFlight: number;
}

/** How a job orders and bounds its results. */
export interface JobOptions {
  readonly ordered: boolean;
  readonly bufferSize: number;
}

/** An input that has not started yet. */
interface PendingTask<T> {
  readonly index: number;
  readonly input: T;
}

/**
 * One stream of inputs through the pool (one subscription of the operator): numbers its
 * inputs, keeps those not yet started, and turns task results into its output, in order
 * or not. It completes when its source has completed and every task has finished.
 */
export class Job<T, R> implements OrderedSink<R> {
  /** Inputs not yet started, in input order. Unbounded: the source pushes. */
  private readonly pending = new Queue<PendingTask<T>>();
  /** Index the next input gets. */
  private nextIndex = 0;
  /** Tasks started and not yet finished; at most size × concurrency. */
  private readonly running = new Set<TaskRun<T, R>>();
  /** In ordered mode, results that wait for an earlier task; at most `bufferSize`, plus what running tasks add. */
  private readonly order: ReorderBuffer<R> | undefined;
  /** Set when the source has completed. */
  private sourceDone = false;
  /** Set in ordered mode once a task has failed: later inputs never start. */
  private halted = false;
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

  /** Accepts the next input from the source. */
  push(input: T): void {
    if (this.closed) return;
    this.pending.push({ index: this.nextIndex++, input });
    this.host.pump();
  }

  /** The source has completed. */
  end(): void {
    this.sourceDone = true;
    this.completeIfDone();
  }

  /** Whether a task can start now; ordering may hold inputs back to bound the reorder buffer. */
  hasStartable(): boolean {
    const next = this.pending.peek();
    if (!next || this.halted || this.closed) return false;
    return !this.order || this.order.size < this.options.bufferSize || next.index === this.order.head;
  }

  /** Starts the next pending input on `slot`; call only after {@link hasStartable}. */
  start(slot: WorkerSlot<T, R>): void {
    const task = this.pending.shift()!;
    slot.inFlight++;
    const run = new TaskRun(this, slot, task.index, task.input);
    this.running.add(run);
    const subscription = slot.port.run(task.input).subscribe(run);
    if (this.running.has(run)) run.subscription = subscription;
  }

  /** Stops everything: running tasks are cancelled, pending inputs dropped. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.pending.drain();
    const running = [...this.running];
    this.running.clear();
    for (const run of running) {
      run.subscription?.unsubscribe();
      this.host.release(run.slot);
    }
    this.host.detach(this);
  }

  /** {@link OrderedSink}: a result, in output order. */
  next(value: R): void {
    if (!this.closed) this.sink.next(value);
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
    if (this.order) this.order.next(run.index, value);
    else this.sink.next(value);
  }

  /** @internal `run` completed. */
  completed(run: TaskRun<T, R>): void {
    if (!this.finish(run)) return;
    this.order?.complete(run.index);
    this.completeIfDone();
    this.host.pump();
  }

  /** @internal `run` failed. */
  failed(run: TaskRun<T, R>, failure: unknown): void {
    if (!this.finish(run)) return;
    const error = taskError(failure, run.index, run.slot.index, run.input);
    if (this.order) {
      this.halted = true;
      this.order.error(run.index, error);
    } else {
      this.error(error);
    }
    this.host.pump();
  }

  private finish(run: TaskRun<T, R>): boolean {
    if (!this.running.delete(run)) return false;
    this.host.release(run.slot);
    return !this.closed;
  }

  private completeIfDone(): void {
    if (this.closed || !this.sourceDone || this.running.size > 0 || (this.pending.length > 0 && !this.halted)) return;
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
    readonly index: number,
    readonly input: T,
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
